using Ponder.Rewards;
using Ponder.Tasks;

namespace Ponder.Search;

/// <summary>
/// Step-level beam search guided by a PRM (search-and-learn): sample N first steps; then repeatedly score every
/// partial solution by its aggregated PRM score, keep the best N/M distinct unfinished ones, and expand each into M
/// next steps, until N distinct solutions have finished, none is left, or a tokens/FLOPs budget is spent (once one has finished). With lookahead k, a candidate is scored after k
/// more greedy steps. Beams are rows of one KV cache: a kept beam is forked, never recomputed. Finished solutions
/// (each scored by the PRM) go to the selector (PRM-max by default).
/// </summary>
public sealed class BeamSearch(SearchSettings settings) : ISearchStrategy
{
    public StrategyKind Kind => StrategyKind.Beam;

    public SearchSettings Settings { get; } = SearchSettings.Checked(settings);

    private Selector Selector => Settings.SelectorOr(Selector.PrmMax);

    public void Check(SearchContext context, Budget budget)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(budget);
        if (context.Prm is null) throw new ArgumentException("beam search needs a process reward model, and none was given");
        Selection.Require(Selector, context);
        Width.Require(budget, Settings.Expansions, "beam search");
    }

    public SearchResult Solve(Problem problem, SearchContext context, Budget budget)
    {
        Check(context, budget);
        var meter = context.NewMeter();
        using var session = context.Policy.Open(problem, meter);
        int m = Settings.Expansions, n = Width.Resolve(budget, m, session, context, meter, problem, Settings.Temperature, costFactor: 1 + Settings.Lookahead);
        long call = 0;
        var finished = new List<Scored>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var active = session.Expand([session.Root], n, Settings.Temperature, Seeds.Mix(context.Seed, call++))[0];
        while (active.Count > 0)
        {
            var scores = Score(session, context, meter, problem, active, ref call);
            // Each distinct finished solution once (as DVTS and MCTS keep them): siblings that wrote the same last line are one vote.
            finished.AddRange(active.Select((node, i) => (node, i)).Where(x => x.node.Finished && seen.Add(x.node.Text)).Select(x => new Scored(x.node, scores[x.i])));
            if (finished.Count >= n || finished.Count > 0 && budget.Spent(meter)) break;   // a spent budget stops once there is an answer
            var keep = active.Select((node, i) => (node, score: StepScores.Aggregate(scores[i], Settings.Aggregation)))
                .Where(x => !x.node.Finished).DistinctBy(x => x.node.Text)
                .OrderByDescending(x => x.score).Take(n / m).Select(x => x.node).ToList();
            if (keep.Count == 0) break;
            active = session.Expand(keep, m, Settings.Temperature, Seeds.Mix(context.Seed, call++)).SelectMany(c => c).ToList();
        }
        var pool = Selection.NeedsPrm(Selector) ? finished
            : Selection.Score(Selector, context, meter, problem, finished.Select(f => f.Node).ToList());
        return Selection.Result(Kind, Settings.Describe(Kind), Selector, Settings.Aggregation, context, problem, pool, meter);
    }

    /// <summary>PRM step scores of each node: of the node itself, or with lookahead of its greedy continuation k steps on (finished nodes as they are).</summary>
    private IReadOnlyList<IReadOnlyList<double>> Score(ISearchSession session, SearchContext context, ComputeMeter meter, Problem problem,
        IReadOnlyList<StepNode> nodes, ref long call)
    {
        var ahead = nodes.ToList();
        for (int k = 0; k < Settings.Lookahead; k++)
        {
            var open = Enumerable.Range(0, ahead.Count).Where(i => !ahead[i].Finished).ToList();
            if (open.Count == 0) break;
            var next = session.Expand(open.Select(i => ahead[i]).ToList(), 1, 0, Seeds.Mix(context.Seed, call++));
            for (int j = 0; j < open.Count; j++) ahead[open[j]] = next[j][0];
        }
        var scores = Rewarding.Steps(context, meter, problem, ahead);
        // A node keeps the score of its own steps' prefix where the lookahead went further: the lookahead's last score ranks it.
        return nodes.Select((node, i) => node.Finished || Settings.Lookahead == 0 || node.Steps.Count == 0 || scores[i].Count == 0 ? scores[i]
            : (IReadOnlyList<double>)[.. scores[i].Take(node.Steps.Count - 1), scores[i][^1]]).ToList();
    }
}
