namespace Ponder.Scaling;

/// <summary>One (arm, N, seed) cell of a sweep, over all its problems.</summary>
/// <param name="Accuracy">Fraction of problems whose chosen answer is correct.</param>
/// <param name="Flops">Mean FLOPs per problem (policy and reward model).</param>
/// <param name="Tokens">Mean tokens per problem run by any network.</param>
/// <param name="ForwardPerGenerated">Policy tokens run ÷ tokens sampled, over all problems.</param>
/// <remarks>The per-problem lists let compute-optimal choose per difficulty bin (<see cref="BinnedPlan"/>).</remarks>
public sealed record SweepPoint(string Arm, string Strategy, int N, int Seed, int Problems, int Correct, double Accuracy,
    double Flops, double Tokens, double ForwardPerGenerated, double Seconds)
{
    /// <summary>Per problem (in the sweep's order): whether the chosen answer was correct.</summary>
    public IReadOnlyList<bool> Solved { get; init; } = [];

    /// <summary>Per problem: FLOPs the search spent.</summary>
    public IReadOnlyList<double> ProblemFlops { get; init; } = [];

    /// <summary>Per problem: tokens the search ran.</summary>
    public IReadOnlyList<double> ProblemTokens { get; init; } = [];
}
