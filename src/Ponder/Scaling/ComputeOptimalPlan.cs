using Ponder.Search;

namespace Ponder.Scaling;

/// <summary>Builds compute-optimal's plan from a validation sweep and scores it on the test sweep.</summary>
public static class ComputeOptimalPlan
{
    /// <summary>One plan entry per (arm, N) of the validation points: mean cost and accuracy over seeds.</summary>
    public static IReadOnlyList<PlanEntry> From(IReadOnlyList<SweepPoint> validation, IReadOnlyList<SweepArm> arms)
    {
        ArgumentNullException.ThrowIfNull(validation);
        ArgumentNullException.ThrowIfNull(arms);
        var byName = arms.ToDictionary(a => a.Name);
        return validation.GroupBy(p => (p.Arm, p.N)).Select(g => new PlanEntry(g.Key.Arm, byName[g.Key.Arm].Kind, byName[g.Key.Arm].Settings,
            g.Key.N, g.Average(p => p.Flops), g.Average(p => p.Tokens), g.Average(p => p.Accuracy))).ToList();
    }

    /// <summary>
    /// At FLOPs budgets doubling from the cheapest to the dearest test cell: the plan's pick (chosen on validation) with
    /// its test accuracy — the same strategy, settings, N, problems and seeds as its test cell, so that cell's result is
    /// what running compute-optimal would give — against the best single arm on test within the budget, or within what the
    /// pick spent on test when that is more (test problems may cost more than the validation ones it was priced on), so the
    /// pick is never credited with compute its rival was denied.
    /// </summary>
    public static IReadOnlyList<OptimalRow> Evaluate(ComputeOptimal optimal, IReadOnlyList<ScalingCurve> test)
    {
        ArgumentNullException.ThrowIfNull(optimal);
        ArgumentNullException.ThrowIfNull(test);
        var all = test.SelectMany(c => c.Points).ToList();
        double lo = all.Min(p => p.Flops), hi = all.Max(p => p.Flops);
        var rows = new List<OptimalRow>();
        for (double budget = lo; budget <= hi * 1.0001; budget *= 2)
        {
            var pick = optimal.Pick(Budget.Flops(budget));
            var mine = test.FirstOrDefault(c => c.Arm == pick.Name)?.Points.FirstOrDefault(p => p.N == pick.N);
            if (mine is null) continue;
            double reach = Math.Max(budget, mine.Flops);
            var best = test.Select(c => (c.Arm, Point: c.BestWithin(reach))).Where(x => x.Point is not null)
                .OrderByDescending(x => x.Point!.Accuracy).First();
            double tolerance = Math.Sqrt(mine.Spread * mine.Spread + best.Point!.Spread * best.Point.Spread);
            rows.Add(new OptimalRow(budget, pick.Name, pick.N, mine.Flops, mine.Accuracy, mine.Spread, best.Arm, best.Point.Accuracy,
                best.Point.Spread, mine.Accuracy >= best.Point.Accuracy - tolerance - 1e-12));
        }
        return rows;
    }
}
