using Ponder.Tasks;

namespace Ponder.Search;

/// <summary>
/// Compute-optimal scaling per difficulty bin (Snell et al. 2024): estimate the problem's difficulty without its
/// answer (<see cref="DifficultyEstimator"/>), find its bin, and run the setting that did best on the validation
/// problems of that bin among those that fit what is left of the budget once the estimate is paid for. The
/// estimate's compute is part of the result's. Each bin's plan comes from a validation sweep
/// (<c>Scaling.BinnedPlan</c>); nothing is tuned on test.
/// </summary>
public sealed class BinnedComputeOptimal : ISearchStrategy
{
    private readonly ComputeOptimal[] _bins;

    /// <param name="plans">One plan per bin (hardest first); a bin with no validation problem takes the whole split's plan.</param>
    public BinnedComputeOptimal(DifficultyEstimator estimator, DifficultyBins bins, IReadOnlyList<IReadOnlyList<PlanEntry>> plans)
    {
        Estimator = estimator ?? throw new ArgumentNullException(nameof(estimator));
        Bins = bins ?? throw new ArgumentNullException(nameof(bins));
        ArgumentNullException.ThrowIfNull(plans);
        estimator.Validate();
        if (plans.Count != bins.Count) throw new ArgumentException($"{bins.Count} difficulty bins but {plans.Count} plans");
        _bins = plans.Select(p => new ComputeOptimal(p)).ToArray();
    }

    public DifficultyEstimator Estimator { get; }

    public DifficultyBins Bins { get; }

    public StrategyKind Kind => StrategyKind.ComputeOptimal;

    public SearchSettings Settings { get; } = new();

    /// <summary>The plan entry of <paramref name="bin"/> for what is <paramref name="left"/> of the budget once the estimate is paid.</summary>
    public PlanEntry Pick(int bin, Budget left)
    {
        ArgumentNullException.ThrowIfNull(left);
        if (bin < 0 || bin >= _bins.Length) throw new ArgumentOutOfRangeException(nameof(bin), $"bin must be in 0..{_bins.Length - 1}, got {bin}");
        return _bins[bin].Pick(left);
    }

    /// <summary>
    /// Checks every entry of every bin's plan that the budget left once the problem's difficulty is estimated could pick
    /// (known only then): those the whole budget pays for, and the cheapest (taken when none fits).
    /// </summary>
    public void Check(SearchContext context, Budget budget)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(budget);
        foreach (var bin in _bins)
            foreach (var entry in bin.Reachable(budget))
                Strategies.Create(entry.Kind, entry.Settings).Check(context, Budget.Samples(entry.N));
    }

    public SearchResult Solve(Problem problem, SearchContext context, Budget budget)
    {
        Check(context, budget);
        var (score, spent) = Estimator.Estimate(problem, context);
        int bin = Bins.Of(score);
        var entry = Pick(bin, budget with { Amount = budget.Amount - budget.Measure(spent) });
        var result = Strategies.Create(entry.Kind, entry.Settings).Solve(problem, context, Budget.Samples(entry.N));
        return result with
        {
            Compute = spent + result.Compute,
            Description = $"compute-optimal (binned): difficulty {score:F2} → bin {bin + 1}/{Bins.Count} → {entry.Name} N={entry.N}",
        };
    }
}
