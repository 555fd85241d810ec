using Ponder.Rewards;
using Ponder.Tasks;

namespace Ponder.Search;

/// <summary>
/// The four phases of MCTS over steps (one step = one line), with PUCT selection
/// <c>score = Q + c · P · √max(1, N_parent) / (1 + N_child)</c>, Q of an unvisited child = 0.
/// A simulation selects a leaf, evaluates it (root: 0; finished: its aggregated PRM score, else ORM; otherwise the
/// PRM's aggregated score of its steps, or a rollout's), expands it if unfinished, and adds the value to every node
/// on the path. Priors are the children's step probabilities renormalised over distinct steps.
/// </summary>
internal sealed class MctsTree(ISearchSession session, SearchContext context, ComputeMeter meter, Problem problem, SearchSettings settings)
{
    private long _call;

    public MctsNode Root { get; } = new(session.Root, 1);

    /// <summary>Finished solutions met so far (finished tree nodes and rollouts) with their values.</summary>
    public List<(StepNode Node, double Value, IReadOnlyList<double> Steps)> Finished { get; } = [];

    public void Simulate()
    {
        var path = Select();
        var leaf = path[^1];
        double value = Evaluate(leaf);
        if (!leaf.Terminal && !leaf.Expanded) Expand(leaf);
        Backpropagate(path, value);
        for (int i = path.Count - 1; i >= 0; i--)
        {
            var node = path[i];
            node.Exhausted = node.Terminal || node.Expanded && node.Children.Count > 0 && node.Children.TrueForAll(c => c.Exhausted);
            if (!node.Exhausted) break;                                    // its ancestors cannot be exhausted either
        }
    }

    public List<MctsNode> Select()
    {
        var path = new List<MctsNode> { Root };
        var node = Root;
        while (node.Expanded && !node.Terminal && node.Children.Count > 0)
        {
            double sqrtN = Math.Sqrt(Math.Max(1, node.Visits));
            node = node.Children.MaxBy(c => (c.Mean + settings.Puct * c.Prior * sqrtN / (1 + c.Visits), c.Prior))!;
            path.Add(node);
        }
        return path;
    }

    public void Expand(MctsNode leaf)
    {
        var steps = session.Expand([leaf.Step], settings.Expansions, settings.Temperature, Seeds.Mix(context.Seed, _call++))[0]
            .DistinctBy(s => s.Text).ToList();
        double max = steps.Max(s => s.StepLogProb);
        double total = steps.Sum(s => Math.Exp(s.StepLogProb - max));
        leaf.Children.AddRange(steps.Select(s => new MctsNode(s, Math.Exp(s.StepLogProb - max) / total)));
        leaf.Expanded = true;
    }

    public double Evaluate(MctsNode leaf)
    {
        if (leaf == Root) return 0;
        if (leaf.Terminal) return leaf.TerminalValue ??= Final(leaf.Step);
        if (settings.LeafValue == LeafValue.Prm)
            return StepScores.Aggregate(Rewarding.Steps(context, meter, problem, [leaf.Step])[0], settings.Aggregation);
        return Final(Rollout(leaf));
    }

    public static void Backpropagate(List<MctsNode> path, double value)
    {
        foreach (var node in path)
        {
            node.Visits++;
            node.ValueSum += value;
        }
    }

    /// <summary>A finished solution from <paramref name="leaf"/> by sampling (the leaf itself when finished).</summary>
    public StepNode Rollout(MctsNode leaf) =>
        leaf.Terminal ? leaf.Step : session.Finish([leaf.Step], settings.Temperature, Seeds.Mix(context.Seed, _call++))[0];

    /// <summary>Value of a finished solution (aggregated PRM score, else ORM score, else 0); recorded as a candidate.</summary>
    public double Final(StepNode node)
    {
        IReadOnlyList<double> steps = context.Prm is null ? [] : Rewarding.Steps(context, meter, problem, [node])[0];
        double value = context.Prm is not null ? StepScores.Aggregate(steps, settings.Aggregation)
            : context.Orm is not null ? Rewarding.Outcomes(context, context.Orm, meter, problem, [node])[0] : 0;
        Finished.Add((node, value, steps));
        return value;
    }

    /// <summary>Walks from the root by most visits (or best mean value) to a node; finishes it by a rollout if it is not finished.</summary>
    public (StepNode Node, double Value) Answer(FinalChoice choice)
    {
        var node = Root;
        while (node.Children.Count > 0 && node.Children.Any(c => c.Visits > 0))
            node = node.Children.Where(c => c.Visits > 0).MaxBy(c => (choice == FinalChoice.Visits ? c.Visits : c.Mean, c.Prior))!;
        if (node.Terminal) return (node.Step, node.TerminalValue ?? node.Mean);
        var finished = Rollout(node);
        return (finished, Final(finished));
    }
}
