namespace Ponder.Rewards;

/// <summary>How a process reward model's step scores become one solution score.</summary>
public enum Aggregation
{
    /// <summary>The weakest step decides (a chain is as good as its worst link).</summary>
    Min,
    /// <summary>The score after the last step (the PRM's estimate that the whole solution is right).</summary>
    Last,
    /// <summary>Product of step scores (probability that every step is right, if independent).</summary>
    Product,
    /// <summary>Mean of step scores.</summary>
    Mean,
}
