namespace Ponder.Rewards;

/// <summary>Settings of <see cref="RewardEvaluation.Run"/>.</summary>
public sealed record RewardEvalOptions
{
    /// <summary>Held-out problems.</summary>
    public int Count { get; init; } = 100;
    /// <summary>Samples per problem: the candidates of best-of-N, and the solutions whose steps are scored.</summary>
    public int Samples { get; init; } = 16;
    /// <summary>Sampling temperature.</summary>
    public double Temperature { get; init; } = 1.0;
    /// <summary>Seeds the problems drawn and the sampling.</summary>
    public int Seed { get; init; }
    /// <summary>Rows per generation batch.</summary>
    public int BatchSize { get; init; } = 128;
    /// <summary>First-error threshold: a step is flagged wrong below this probability (fixed at 0.5, not tuned on the test samples).</summary>
    public double Threshold { get; init; } = 0.5;
    /// <summary>The PRM aggregation reported as the headline (chosen before measuring; all four are reported).</summary>
    public Aggregation Headline { get; init; } = Aggregation.Min;
}
