using Ponder.Search;

namespace Ponder.Tests.Search;

public sealed class MctsTreeTests
{
    // root → A (P 0.75, PRM 0.2) → #1 (PRM 0.1); root → B (P 0.25, PRM 0.9) → #2. c = 1, M = 2, enumerated expansions.
    private static (ToyPolicy Policy, SearchContext Context) Toy()
    {
        var policy = new ToyPolicy(new()
        {
            [""] = [("A", 0.75), ("B", 0.25)],
            ["A\n"] = [("#1", 1.0)],
            ["B\n"] = [("#2", 1.0)],
        }, enumerate: true);
        var prm = new ToyReward(new() { ["A"] = 0.2, ["#1"] = 0.1, ["B"] = 0.9, ["#2"] = 1.0 });
        return (policy, ToyPolicy.Context(policy, prm));
    }

    private static (MctsTree Tree, ComputeMeter Meter) Build(FinalChoice choice = FinalChoice.Visits)
    {
        var (policy, context) = Toy();
        var meter = new ComputeMeter(policy.Flops);
        var session = policy.Open(ToyPolicy.Problem, meter);
        var settings = new SearchSettings { Puct = 1, Expansions = 2, FinalChoice = choice };
        return (new MctsTree(session, context, meter, ToyPolicy.Problem, settings), meter);
    }

    private static MctsNode Child(MctsNode node, string step) => node.Children.Single(c => c.Step.Steps[^1] == step);

    [Fact]
    public void Visits_and_values_follow_the_hand_computed_tree()
    {
        var (tree, _) = Build();
        // 1: root expanded (value 0).  2: A (0.75 > 0.25), PRM 0.2.  3: A again (0.2 + 0.75·√2/2 = 0.730 > 0.25·√2 = 0.354), into #1: 0.1.
        // 4: A (0.15 + 0.75·√3/3 = 0.583 > 0.433), #1 again: 0.1.  5: A (0.133 + 0.75·2/4 = 0.508 > 0.5), #1: 0.1.
        // 6: B (0.25·√5 = 0.559 > 0.125 + 0.75·√5/5 = 0.460), PRM 0.9.
        for (int i = 0; i < 6; i++) tree.Simulate();
        var a = Child(tree.Root, "A");
        var b = Child(tree.Root, "B");
        var a1 = Child(a, "#1");
        Assert.Equal(0.75, a.Prior, 9);
        Assert.Equal(0.25, b.Prior, 9);
        Assert.Equal((6, 1.4), (tree.Root.Visits, Math.Round(tree.Root.ValueSum, 9)));
        Assert.Equal((4, 0.5), (a.Visits, Math.Round(a.ValueSum, 9)));
        Assert.Equal((3, 0.3), (a1.Visits, Math.Round(a1.ValueSum, 9)));
        Assert.Equal((1, 0.9), (b.Visits, Math.Round(b.ValueSum, 9)));
        Assert.True(b.Expanded);
        Assert.Equal(0, Child(b, "#2").Visits);
    }

    [Fact]
    public void Final_answer_by_visits_takes_the_most_visited_path()
    {
        var (tree, _) = Build();
        for (int i = 0; i < 6; i++) tree.Simulate();
        var (node, value) = tree.Answer(FinalChoice.Visits);
        Assert.Equal("A\n#1", node.Text);
        Assert.Equal(0.1, value, 9);
    }

    [Fact]
    public void Final_answer_by_value_finishes_an_unfinished_node_with_a_rollout()
    {
        var (tree, _) = Build();
        for (int i = 0; i < 6; i++) tree.Simulate();
        var (node, value) = tree.Answer(FinalChoice.Value);
        Assert.True(node.Finished);
        Assert.Equal("B\n#2", node.Text);
        Assert.Equal(1.0, value, 9);
    }

    [Fact]
    public void Selection_is_puct_with_unvisited_children_at_zero_value()
    {
        var (tree, _) = Build();
        tree.Simulate();
        var path = tree.Select();
        Assert.Equal(["A"], path.Skip(1).Select(n => n.Step.Steps[^1]));
    }

    [Fact]
    public void Explore_gives_the_search_and_each_node_with_siblings_with_their_visits_and_mean_values()
    {
        // Given the hand-computed tree's six simulations, run as a search
        var (_, context) = Toy();
        var mcts = new Mcts(new SearchSettings { Puct = 1, Expansions = 2 });

        var explored = mcts.Explore(ToyPolicy.Problem, context, Budget.Samples(6));

        // Then its result is Solve's, and the only node with two children is the root: A 4 visits (0.5 / 4), B 1 (0.9)
        Assert.Equal(mcts.Solve(ToyPolicy.Problem, context, Budget.Samples(6)).Completion, explored.Result.Completion);
        var root = Assert.Single(explored.Branches);
        Assert.Equal("", root.Prefix);
        Assert.Equal([("A", false, 4, 0.125), ("B", false, 1, 0.9)],
            root.Children.Select(c => (c.Step.TrimEnd('\n'), c.Finished, c.Visits, Math.Round(c.Mean, 9))));
    }
}
