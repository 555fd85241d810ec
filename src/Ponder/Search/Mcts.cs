using Ponder.Tasks;

namespace Ponder.Search;

/// <summary>
/// Monte-Carlo tree search over steps (one step = one line, so a node is a partial solution ending at a newline).
/// N × <see cref="SearchSettings.SimulationsPerSample"/> simulations (or until a tokens/FLOPs budget is spent), each
/// select → evaluate → expand → back-propagate (<see cref="MctsTree"/>); then the answer path is walked by visits
/// or value and finished by a rollout if it ends on a partial solution, so the answer is always a finished solution.
/// Children of a node are rows of one KV cache forked from their parent's row: no prefix is recomputed.
/// </summary>
public sealed class Mcts(SearchSettings settings) : ISearchStrategy
{
    /// <summary>
    /// Any budget stops after this many simulations in a row that spent nothing once the tree is exhausted (every path in
    /// it finished): more simulations would only revisit its finished solutions.
    /// </summary>
    public const int ExhaustedAfter = 64;

    /// <summary>
    /// And after this many in a row that spent nothing while unexpanded nodes remain: PUCT keeps revisiting a finished
    /// solution of high value until its exploration term lifts a sibling of low prior, which can take very many (free)
    /// simulations; this bounds them.
    /// </summary>
    public const int IdleLimit = 4096;

    public StrategyKind Kind => StrategyKind.Mcts;

    public SearchSettings Settings { get; } = SearchSettings.Checked(settings);

    public void Check(SearchContext context, Budget budget)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(budget);
        if (Settings.LeafValue == LeafValue.Prm && context.Prm is null)
            throw new ArgumentException("MCTS with PRM leaf values needs a process reward model, and none was given (or use rollout leaf values with an ORM)");
        if (context.Prm is null && context.Orm is null)
            throw new ArgumentException("MCTS needs a process or an outcome reward model to value finished solutions, and none was given");
        if (budget.Unit == BudgetUnit.Samples && budget.N * Settings.SimulationsPerSample < 2)
            throw new ArgumentException($"MCTS needs at least 2 simulations (one expands the root); N = {budget.N} × {Settings.SimulationsPerSample} simulations per sample is fewer");
    }

    public SearchResult Solve(Problem problem, SearchContext context, Budget budget) => Explore(problem, context, budget).Result;

    /// <summary>
    /// <see cref="Solve"/>, and the tree it grew: every expanded node with two or more distinct next steps, its children
    /// with their visits and mean values (root first, breadth first) — what step-level preference pairs are read from.
    /// </summary>
    public Exploration Explore(Problem problem, SearchContext context, Budget budget)
    {
        Check(context, budget);
        var meter = context.NewMeter();
        using var session = context.Policy.Open(problem, meter);
        var tree = new MctsTree(session, context, meter, problem, Settings);
        int simulations = budget.Unit == BudgetUnit.Samples ? budget.N * Settings.SimulationsPerSample : int.MaxValue;
        for (int s = 0, idle = 0; s < simulations && (s < 2 || !budget.Spent(meter)) && idle < (tree.Root.Exhausted ? ExhaustedAfter : IdleLimit); s++)
        {
            long before = meter.Tokens;
            tree.Simulate();
            idle = meter.Tokens == before ? idle + 1 : 0;     // only finished nodes revisited: nothing left to spend on
        }
        var (answer, value) = tree.Answer(Settings.FinalChoice);
        var candidates = tree.Finished.Select(f => new Candidate(f.Node.Text, context.AnswerOf(problem, f.Node.Text), f.Value, f.Steps))
            .DistinctBy(c => c.Completion).ToList();
        var chosen = candidates.First(c => c.Completion == answer.Text);
        return new Exploration(new SearchResult(Kind, chosen.Completion, chosen.Answer, candidates, meter.Snapshot(), Settings.Describe(Kind)), Branches(tree.Root));
    }

    // The tree's nodes with at least two children, breadth first; each child's step is its text after the parent's, and
    // a node's prefix tokens its ancestors' step tokens in order (null once one is unknown).
    private static List<TreeBranch> Branches(MctsNode root)
    {
        var branches = new List<TreeBranch>();
        var queue = new Queue<(MctsNode Node, IReadOnlyList<int>? Tokens)>([(root, [])]);
        while (queue.TryDequeue(out var item))
        {
            var (node, tokens) = item;
            if (node.Children.Count >= 2)
            {
                var prefix = node.Step.Text;
                if (node.Children.FirstOrDefault(c => !c.Step.Text.StartsWith(prefix, StringComparison.Ordinal)) is { } stray)
                    throw new InvalidOperationException($"MCTS: a child's text does not continue its parent's ('{stray.Step.Text}' after '{prefix}')");
                branches.Add(new TreeBranch(prefix, tokens,
                    node.Children.Select(c => new TreeChild(c.Step.Text[prefix.Length..], c.Terminal, c.Visits, c.Mean, c.Step.StepTokens)).ToList()));
            }
            foreach (var child in node.Children)
                queue.Enqueue((child, tokens is null || child.Step.StepTokens is null ? null : [.. tokens, .. child.Step.StepTokens]));
        }
        return branches;
    }
}
