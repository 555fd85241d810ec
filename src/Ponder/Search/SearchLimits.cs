namespace Ponder.Search;

/// <summary>Length limits of a solution during search, so a runaway sample cannot eat the budget.</summary>
public sealed record SearchLimits
{
    /// <summary>Most tokens in one step (line); a longer line ends the solution (truncated).</summary>
    public int MaxStepTokens { get; init; } = 48;

    /// <summary>Most steps (lines, the final-answer line included) in one solution.</summary>
    public int MaxSteps { get; init; } = 12;

    /// <summary>Most tokens of a whole sampled solution.</summary>
    public int MaxNewTokens { get; init; } = 160;

    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxStepTokens, nameof(MaxStepTokens));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxSteps, nameof(MaxSteps));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxNewTokens, nameof(MaxNewTokens));
    }
}
