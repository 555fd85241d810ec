using Ponder.Search;
using Ponder.Tasks;

namespace Ponder.Scaling;

/// <summary>
/// Builds compute-optimal per difficulty bin from a validation sweep and scores it on the test sweep.
/// Both splits are binned by the same answer-free estimate (<see cref="DifficultyEstimator"/>), with bin edges
/// taken from validation, so the bins chosen on validation are the bins a test problem can be told to be in.
/// </summary>
public static class BinnedPlan
{
    /// <summary>
    /// The estimate of every (seed, problem) of a sweep's grid, with the context seed the sweep's own search of that
    /// cell uses (<c>Seeds.Mix(seed, problem)</c>), exactly as <see cref="BinnedComputeOptimal.Solve"/> would make it.
    /// </summary>
    public static IReadOnlyList<DifficultyPoint> Estimate(ITask task, SearchContext baseContext, SweepOptions options, DifficultyEstimator estimator,
        IProgress<string>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(baseContext);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(estimator);
        var problems = task.Problems(options.Split, options.Problems, options.ProblemSeed);
        var points = new List<DifficultyPoint>();
        for (int seed = 0; seed < options.Seeds; seed++)
            for (int i = 0; i < problems.Count; i++)
            {
                var (score, spent) = estimator.Estimate(problems[i], baseContext with { Seed = Seeds.Mix(seed, i) });
                points.Add(new DifficultyPoint(seed, i, score, spent.Flops, spent.Tokens));
            }
        progress?.Report($"difficulty of {problems.Count} problems × {options.Seeds} seeds estimated from {estimator.Samples} samples each, " +
            $"{points.Average(p => p.Flops):G3} FLOPs/problem");
        return points;
    }

    /// <summary>
    /// Bins of the validation estimates (quantiles), and per bin one plan entry per (arm, N): its accuracy and mean
    /// cost on the validation problems of that bin (over seeds). A bin with no validation problem gets the whole plan.
    /// </summary>
    public static BinnedComputeOptimal From(IReadOnlyList<SweepPoint> validation, IReadOnlyList<SweepArm> arms, IReadOnlyList<DifficultyPoint> estimates,
        int bins, DifficultyEstimator estimator)
    {
        ArgumentNullException.ThrowIfNull(validation);
        ArgumentNullException.ThrowIfNull(arms);
        ArgumentNullException.ThrowIfNull(estimates);
        var edges = DifficultyBins.From(estimates.Select(e => e.Score), bins);
        var byName = arms.ToDictionary(a => a.Name);
        var whole = ComputeOptimalPlan.From(validation, arms);
        var plans = new List<IReadOnlyList<PlanEntry>>();
        for (int b = 0; b < edges.Count; b++)
        {
            var members = estimates.Where(e => edges.Of(e.Score) == b).Select(e => (e.Seed, e.Problem)).ToHashSet();
            var plan = validation.GroupBy(p => (p.Arm, p.N)).Select(g =>
            {
                var cells = g.SelectMany(p => Enumerable.Range(0, p.Solved.Count).Where(i => members.Contains((p.Seed, i))).Select(i => (p, i))).ToList();
                if (cells.Count == 0) return null;
                var arm = byName[g.Key.Arm];
                return new PlanEntry(arm.Name, arm.Kind, arm.Settings, g.Key.N, cells.Average(c => c.p.ProblemFlops[c.i]), cells.Average(c => c.p.ProblemTokens[c.i]),
                    cells.Average(c => c.p.Solved[c.i] ? 1.0 : 0.0));
            }).OfType<PlanEntry>().ToList();
            plans.Add(plan.Count > 0 ? plan : whole);
        }
        return new BinnedComputeOptimal(estimator, edges, plans);
    }

    /// <summary>
    /// At the FLOPs budgets of <see cref="ComputeOptimalPlan.Evaluate"/>, and one more that pays for the dearest test cell
    /// plus the mean estimate: what binned compute-optimal gives on test —
    /// for each (seed, problem) its estimate picks the bin, the bin's plan picks a setting for the budget left, and
    /// that setting's own test cell (same seed) says whether the problem was solved and what it spent — against
    /// unbinned compute-optimal and the best single arm within the budget.
    /// </summary>
    public static IReadOnlyList<BinnedRow> Evaluate(BinnedComputeOptimal binned, ComputeOptimal unbinned, IReadOnlyList<SweepPoint> test,
        IReadOnlyList<DifficultyPoint> estimates, IReadOnlyList<ScalingCurve> curves)
    {
        ArgumentNullException.ThrowIfNull(binned);
        ArgumentNullException.ThrowIfNull(unbinned);
        ArgumentNullException.ThrowIfNull(test);
        ArgumentNullException.ThrowIfNull(estimates);
        ArgumentNullException.ThrowIfNull(curves);
        var cells = test.ToDictionary(p => (p.Arm, p.N, p.Seed));
        var all = curves.SelectMany(c => c.Points).ToList();
        if (all.Count == 0 || estimates.Count == 0) return [];
        double lo = all.Min(p => p.Flops), hi = all.Max(p => p.Flops), top = hi + estimates.Average(e => e.Flops);
        var budgets = new List<double>();
        for (double b = lo; b <= hi * 1.0001; b *= 2) budgets.Add(b);
        if (top > budgets[^1] * 1.0001) budgets.Add(top);                           // room for the dearest arm after the estimate
        var rows = new List<BinnedRow>();
        foreach (double budget in budgets)
        {
            var perSeed = new Dictionary<int, (double Correct, double Flops, int Count)>();
            var picks = new List<(int Bin, string Pick)>();
            bool complete = true;
            foreach (var e in estimates)
            {
                int bin = binned.Bins.Of(e.Score);
                var entry = binned.Pick(bin, Budget.Flops(budget - e.Flops));
                if (!cells.TryGetValue((entry.Name, entry.N, e.Seed), out var cell) || e.Problem >= cell.Solved.Count) { complete = false; break; }
                var (correct, flops, count) = perSeed.GetValueOrDefault(e.Seed);
                perSeed[e.Seed] = (correct + (cell.Solved[e.Problem] ? 1 : 0), flops + e.Flops + cell.ProblemFlops[e.Problem], count + 1);
                picks.Add((bin, $"{entry.Name} N={entry.N}"));
            }
            var pick = unbinned.Pick(Budget.Flops(budget));
            var mine = curves.FirstOrDefault(c => c.Arm == pick.Name)?.Points.FirstOrDefault(p => p.N == pick.N);
            if (!complete || mine is null) continue;
            double spent = perSeed.Values.Sum(s => s.Flops) / perSeed.Values.Sum(s => s.Count);
            var best = curves.Select(c => (c.Arm, Point: c.BestWithin(Math.Max(budget, spent)))).Where(x => x.Point is not null).OrderByDescending(x => x.Point!.Accuracy).FirstOrDefault();
            if (best.Point is null) continue;
            var accuracy = perSeed.Values.Select(s => s.Correct / s.Count).ToList();
            string described = string.Join("; ", picks.GroupBy(p => p.Bin).OrderBy(g => g.Key)
                .Select(g => $"bin {g.Key + 1}: {g.GroupBy(p => p.Pick).OrderByDescending(x => x.Count()).First().Key}"));
            rows.Add(new BinnedRow(budget, described, spent, estimates.Average(e => e.Flops),
                accuracy.Average(), Spread(accuracy), $"{pick.Name} N={pick.N}", mine.Flops, mine.Accuracy, mine.Spread, best.Arm, best.Point.Accuracy, best.Point.Spread));
        }
        return rows;
    }

    private static double Spread(IReadOnlyList<double> values)
    {
        if (values.Count < 2) return 0;
        double mean = values.Average();
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1));
    }
}
