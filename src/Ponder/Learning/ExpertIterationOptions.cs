namespace Ponder.Learning;

/// <summary>Settings of expert iteration (STaR / ReST-EM): sample → keep verified-correct → SFT, for several rounds.</summary>
public sealed record ExpertIterationOptions
{
    public required string Policy { get; init; }
    public required string Out { get; init; }
    public string? Task { get; init; }
    public int Rounds { get; init; } = 3;
    /// <summary>Train problems the expert attempts each round.</summary>
    public int ProblemsPerRound { get; init; } = 256;
    /// <summary>Expert attempts per problem (best-of-N sampling as the expert).</summary>
    public int SamplesPerProblem { get; init; } = 8;
    public double Temperature { get; init; } = 1.0;
    /// <summary>At most this many distinct correct solutions kept per problem (limits easy problems' weight).</summary>
    public int KeepPerProblem { get; init; } = 2;
    /// <summary>SFT steps on the kept solutions each round.</summary>
    public int StepsPerRound { get; init; } = 100;
    public int BatchSize { get; init; } = 64;
    public double Lr { get; init; } = 5e-4;
    /// <summary>Linear warmup over the first optimizer steps of the run (the optimizer starts fresh).</summary>
    public int Warmup { get; init; } = 20;
    public double GradClip { get; init; } = 1.0;
    public int EvalCount { get; init; } = 200;
    public int Seed { get; init; } = 1;
    /// <summary>Continue after the last completed round saved in <see cref="Out"/>.</summary>
    public bool Resume { get; init; }
}
