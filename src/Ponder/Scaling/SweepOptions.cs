using Ponder.Tasks;

namespace Ponder.Scaling;

/// <summary>Grid of a scaling sweep.</summary>
public sealed record SweepOptions
{
    /// <summary>Budgets N (powers of two by convention); an arm skips the ones it cannot run (e.g. beam with N &lt; M).</summary>
    public IReadOnlyList<int> Budgets { get; init; } = [1, 2, 4, 8, 16];

    /// <summary>Search seeds per cell (the error bars are their spread).</summary>
    public int Seeds { get; init; } = 3;

    /// <summary>Problems per cell (the same problems for every arm, budget and seed).</summary>
    public int Problems { get; init; } = 60;

    /// <summary>Split the problems come from: test for the curves, train as the validation split of compute-optimal.</summary>
    public Split Split { get; init; } = Split.Test;

    /// <summary>Seed of the problems drawn.</summary>
    public int ProblemSeed { get; init; }

    public void Validate()
    {
        if (Budgets.Count == 0 || Budgets.Any(b => b < 1)) throw new ArgumentException("budgets must be a non-empty list of N ≥ 1");
        if (Seeds < 1) throw new ArgumentException($"seeds must be ≥ 1, got {Seeds}");
        if (Problems < 1) throw new ArgumentException($"problems must be ≥ 1, got {Problems}");
    }
}
