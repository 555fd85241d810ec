using Ponder.Tasks;

namespace Ponder.Search;

/// <summary>
/// Compute-optimal test-time scaling (Snell et al. 2024): for a FLOPs or tokens budget, run the strategy and
/// settings that had the best validation accuracy among those whose validation cost fits the budget (ties: the
/// cheaper). The plan comes from a validation sweep (<c>Scaling.ComputeOptimalPlan</c>); nothing is tuned on test.
/// </summary>
public sealed class ComputeOptimal : ISearchStrategy
{
    public ComputeOptimal(IReadOnlyList<PlanEntry> plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (plan.Count == 0) throw new ArgumentException("compute-optimal needs a plan with at least one measured setting");
        Plan = plan;
    }

    public IReadOnlyList<PlanEntry> Plan { get; }

    public StrategyKind Kind => StrategyKind.ComputeOptimal;

    public SearchSettings Settings { get; } = new();

    /// <summary>The best validated entry whose cost fits <paramref name="budget"/>; the cheapest when none fits.</summary>
    public PlanEntry Pick(Budget budget)
    {
        ArgumentNullException.ThrowIfNull(budget);
        if (budget.Unit == BudgetUnit.Samples)
            throw new ArgumentException("compute-optimal compares strategies at equal compute: give a FLOPs (e.g. 2e9flops) or tokens (e.g. 4096tok) budget");
        double Cost(PlanEntry e) => CostIn(budget, e);
        var fits = Plan.Where(e => Cost(e) <= budget.Amount).ToList();
        return fits.Count == 0 ? Plan.MinBy(Cost)! : fits.OrderByDescending(e => e.Accuracy).ThenBy(Cost).First();
    }

    /// <summary>
    /// Every entry <see cref="Pick"/> could return for <paramref name="budget"/> or any smaller amount: those it pays for,
    /// and the cheapest (taken when none fits).
    /// </summary>
    public IEnumerable<PlanEntry> Reachable(Budget budget)
    {
        Pick(budget);                                                           // the budget's unit is one a plan can pick by
        return Plan.Where(e => CostIn(budget, e) <= budget.Amount).Append(Plan.MinBy(e => CostIn(budget, e))!).Distinct();
    }

    // An entry's validation cost in the budget's unit.
    private static double CostIn(Budget budget, PlanEntry e) => budget.Unit == BudgetUnit.Flops ? e.Flops : e.Tokens;

    public void Check(SearchContext context, Budget budget)
    {
        var entry = Pick(budget);
        Strategies.Create(entry.Kind, entry.Settings).Check(context, Budget.Samples(entry.N));
    }

    public SearchResult Solve(Problem problem, SearchContext context, Budget budget)
    {
        var entry = Pick(budget);
        var strategy = Strategies.Create(entry.Kind, entry.Settings);
        var result = strategy.Solve(problem, context, Budget.Samples(entry.N));
        return result with { Description = $"compute-optimal → {entry.Name} N={entry.N}" };
    }
}
