namespace Ponder.Rewards;

/// <summary>Settings of automatic process labelling (and of the samples gold labels are put on).</summary>
public sealed record LabelOptions
{
    /// <summary>Train problems whose sampled solutions get labelled.</summary>
    public int Problems { get; init; } = 300;
    /// <summary>Solutions sampled per problem (varied mistakes to learn from).</summary>
    public int Samples { get; init; } = 4;
    /// <summary>Monte-Carlo completions run from each step prefix; Math-Shepherd used 8.</summary>
    public int K { get; init; } = 8;
    /// <summary>Temperature of the samples and of the completions (1: the policy's own distribution).</summary>
    public double Temperature { get; init; } = 1.0;
    /// <summary>Seeds the problems drawn and all sampling.</summary>
    public int Seed { get; init; } = 1;
    /// <summary>Rows per generation batch.</summary>
    public int BatchSize { get; init; } = 128;
    /// <summary>Steps kept per solution (a rambling sample is cut here).</summary>
    public int MaxSteps { get; init; } = 16;
}
