namespace Ponder.Thinking;

/// <summary>What a search trace does when its exploration hits the expansion bound before finding a solution.</summary>
public enum TraceFallback
{
    /// <summary>No gold solution for that problem (trainers skip it); evaluation still uses every problem.</summary>
    Drop,
    /// <summary>Use the <see cref="TraceStyle.OptimalOnly"/> trace instead, so every problem has a gold solution.</summary>
    Optimal,
}
