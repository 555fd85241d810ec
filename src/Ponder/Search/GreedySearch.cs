using Ponder.Tasks;

namespace Ponder.Search;

/// <summary>One greedy solution: the baseline every strategy must beat. Any budget of at least one sample runs it.</summary>
public sealed class GreedySearch(SearchSettings settings) : ISearchStrategy
{
    public StrategyKind Kind => StrategyKind.Greedy;

    public SearchSettings Settings { get; } = SearchSettings.Checked(settings);

    public void Check(SearchContext context, Budget budget)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(budget);
        if (budget.Unit == BudgetUnit.Samples && budget.N < 1) throw new ArgumentException($"greedy search needs a budget of at least 1, got {budget.N}");
    }

    public SearchResult Solve(Problem problem, SearchContext context, Budget budget)
    {
        Check(context, budget);
        var meter = context.NewMeter();
        using var session = context.Policy.Open(problem, meter);
        var node = session.Sample(1, 0, context.Seed)[0];
        return Selection.Result(Kind, Settings.Describe(Kind), Selector.Majority, Settings.Aggregation, context, problem, [new Scored(node, [])], meter);
    }
}
