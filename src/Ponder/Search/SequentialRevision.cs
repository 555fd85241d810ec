using Ponder.Tasks;

namespace Ponder.Search;

/// <summary>
/// Sequential revision (Snell et al. 2024): N/R parallel chains of R attempts. The policy writes each chain's first
/// attempt; in every later round the reviser sees the chain's previous attempt (<see cref="RevisionPrompt"/>) and
/// writes a new whole solution. Every attempt of every round is a candidate; the selector (majority by default, or a
/// PRM/ORM selector) picks the answer. The reviser must have the policy's shape, so one FLOPs model prices both.
/// </summary>
public sealed class SequentialRevision(SearchSettings settings) : ISearchStrategy
{
    public StrategyKind Kind => StrategyKind.Revision;

    public SearchSettings Settings { get; } = SearchSettings.Checked(settings);

    private Selector Selector => Settings.SelectorOr(Selector.Majority);

    public void Check(SearchContext context, Budget budget)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(budget);
        if (context.Reviser is null) throw new ArgumentException("sequential revision needs a reviser (ponder train revise), and none was given");
        if (context.Reviser.Flops != context.Policy.Flops) throw new ArgumentException("the reviser must have the policy's shape (one FLOPs model prices both)");
        Selection.Require(Selector, context);
        if (budget.Unit != BudgetUnit.Samples) throw new ArgumentException("sequential revision takes a samples budget N (N/rounds chains × rounds attempts)");
        if (budget.N < Settings.Rounds || budget.N % Settings.Rounds != 0)
            throw new ArgumentException($"sequential revision needs N to be a multiple of rounds = {Settings.Rounds}; got N = {budget.N}");
    }

    public SearchResult Solve(Problem problem, SearchContext context, Budget budget)
    {
        Check(context, budget);
        var meter = context.NewMeter();
        int chains = budget.N / Settings.Rounds;
        var attempts = new List<StepNode>();
        List<StepNode> last;
        using (var session = context.Policy.Open(problem, meter))
            last = session.Sample(chains, Settings.Temperature, Seeds.Mix(context.Seed, 0)).ToList();
        attempts.AddRange(last);
        for (int round = 1; round < Settings.Rounds; round++)
        {
            for (int c = 0; c < chains; c++)
            {
                using var session = context.Reviser!.Open(RevisionPrompt.Build(problem, last[c].Text), meter);
                last[c] = session.Sample(1, Settings.Temperature, Seeds.Mix(context.Seed, round * chains + c))[0];
            }
            attempts.AddRange(last);
        }
        var scored = Selection.Score(Selector, context, meter, problem, attempts);
        return Selection.Result(Kind, Settings.Describe(Kind), Selector, Settings.Aggregation, context, problem, scored, meter);
    }
}
