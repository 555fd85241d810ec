using Ponder.Tasks;

namespace Ponder.Search;

/// <summary>
/// Best-of-N: N solutions sampled independently from the prompt (prefilled once), one chosen by the selector.
/// With a tokens or FLOPs budget it samples one solution to price a sample (scoring included), then as many more
/// as the rest pays for, in one batch, and repeats while another fits.
/// </summary>
public sealed class BestOfN(SearchSettings settings) : ISearchStrategy
{
    public StrategyKind Kind => StrategyKind.BestOfN;

    public SearchSettings Settings { get; } = SearchSettings.Checked(settings);

    private Selector Selector => Settings.SelectorOr(Selector.Majority);

    public void Check(SearchContext context, Budget budget)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(budget);
        if (budget.Unit == BudgetUnit.Samples && budget.N < 1) throw new ArgumentException($"best-of-N needs N ≥ 1, got {budget.N}");
        Selection.Require(Selector, context);
    }

    public SearchResult Solve(Problem problem, SearchContext context, Budget budget)
    {
        Check(context, budget);
        var meter = context.NewMeter();
        using var session = context.Policy.Open(problem, meter);
        var scored = new List<Scored>();
        int round = 0, n = budget.Unit == BudgetUnit.Samples ? budget.N : 1;
        while (n > 0)
        {
            var samples = session.Sample(n, Settings.Temperature, Seeds.Mix(context.Seed, round++));
            scored.AddRange(Selection.Score(Selector, context, meter, problem, samples));
            if (budget.Unit == BudgetUnit.Samples) break;
            double perSample = budget.Measure(meter.Snapshot()) / scored.Count;
            n = (int)Math.Min(1 << 16, Math.Floor(budget.Left(meter) / perSample));
        }
        return Selection.Result(Kind, Settings.Describe(Kind), Selector, Settings.Aggregation, context, problem, scored, meter);
    }
}
