namespace Ponder.Scaling;

/// <summary>Settings of <see cref="Evaluator.Run"/>.</summary>
public sealed record EvalOptions
{
    /// <summary>Held-out problems.</summary>
    public int Count { get; init; } = 200;
    /// <summary>Samples per problem for pass@k and maj@k (0: greedy only).</summary>
    public int Samples { get; init; } = 16;
    /// <summary>Sampling temperature of those samples.</summary>
    public double Temperature { get; init; } = 1.0;
    /// <summary>Seeds the problems drawn and the sampling.</summary>
    public int Seed { get; init; }
    /// <summary>Rows per generation batch.</summary>
    public int BatchSize { get; init; } = 128;
}
