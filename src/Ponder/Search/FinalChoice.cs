namespace Ponder.Search;

/// <summary>How MCTS walks from the root to its answer once the simulations are spent.</summary>
public enum FinalChoice
{
    /// <summary>The most visited child at each level (robust child).</summary>
    Visits,
    /// <summary>The child with the best mean value at each level.</summary>
    Value,
}
