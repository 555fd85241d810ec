using Ponder.Rewards;
using Ponder.Tasks;

namespace Ponder.Search;

/// <summary>
/// Diverse verifier tree search (search-and-learn): N/M independent subtrees, each grown from the prompt as a beam
/// of width one — expand the subtree's current node into M next steps, keep the PRM's favourite — until it finishes. Subtrees advance in lockstep so every depth is one batch. Because a subtree
/// never competes with the others, one PRM favourite cannot crowd out the rest (the diversity beam search loses at
/// large N). Every finished step any subtree saw is a candidate; the selector (PRM-max by default) picks one.
/// </summary>
public sealed class Dvts(SearchSettings settings) : ISearchStrategy
{
    public StrategyKind Kind => StrategyKind.Dvts;

    public SearchSettings Settings { get; } = SearchSettings.Checked(settings);

    private Selector Selector => Settings.SelectorOr(Selector.PrmMax);

    public void Check(SearchContext context, Budget budget)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(budget);
        if (context.Prm is null) throw new ArgumentException("DVTS needs a process reward model, and none was given");
        Selection.Require(Selector, context);
        Width.Require(budget, Settings.Expansions, "DVTS");
    }

    public SearchResult Solve(Problem problem, SearchContext context, Budget budget)
    {
        Check(context, budget);
        var meter = context.NewMeter();
        using var session = context.Policy.Open(problem, meter);
        int m = Settings.Expansions, subtrees = Width.Resolve(budget, m, session, context, meter, problem, Settings.Temperature) / m;
        long call = 0;
        var finished = new List<Scored>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var current = Enumerable.Repeat(session.Root, subtrees).ToList();
        while (current.Count > 0)
        {
            var children = session.Expand(current, m, Settings.Temperature, Seeds.Mix(context.Seed, call++));
            var scores = Rewarding.Steps(context, meter, problem, children.SelectMany(c => c).ToList());
            var next = new List<StepNode>();
            for (int t = 0; t < current.Count; t++)
            {
                var options = Enumerable.Range(0, m).Select(k => (node: children[t][k], steps: scores[t * m + k])).ToList();
                finished.AddRange(options.Where(o => o.node.Finished && seen.Add(o.node.Text)).Select(o => new Scored(o.node, o.steps)));   // each distinct solution once
                var best = options.MaxBy(o => StepScores.Aggregate(o.steps, Settings.Aggregation));
                if (!best.node.Finished) next.Add(best.node);
            }
            current = next;
            if (finished.Count > 0 && budget.Spent(meter)) break;           // a spent tokens/FLOPs budget, once there is an answer
        }
        var pool = Selection.NeedsPrm(Selector) ? finished
            : Selection.Score(Selector, context, meter, problem, finished.Select(f => f.Node).ToList());
        return Selection.Result(Kind, Settings.Describe(Kind), Selector, Settings.Aggregation, context, problem, pool, meter);
    }
}
