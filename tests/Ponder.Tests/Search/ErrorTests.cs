using Ponder.Search;

namespace Ponder.Tests.Search;

public sealed class ErrorTests
{
    private static (ToyPolicy Policy, SearchContext Context) Toy(bool prm)
    {
        var policy = new ToyPolicy(StrategyTests.Table());
        return (policy, ToyPolicy.Context(policy, prm ? StrategyTests.Prm() : null));
    }

    [Theory]
    [InlineData(StrategyKind.Beam)]
    [InlineData(StrategyKind.Dvts)]
    [InlineData(StrategyKind.Mcts)]
    public void Prm_strategies_without_a_prm_fail_before_any_work(StrategyKind kind)
    {
        var (policy, context) = Toy(prm: false);
        var e = Assert.Throws<ArgumentException>(() => Strategies.Create(kind).Solve(ToyPolicy.Problem, context, Budget.Samples(8)));
        Assert.Contains("reward model", e.Message);
        Assert.Equal(0, policy.Opened);
    }

    [Theory]
    [InlineData(Selector.PrmMax, "process reward")]
    [InlineData(Selector.OrmVote, "outcome reward")]
    [InlineData(Selector.Verifier, "reference answer")]
    public void Selectors_without_their_model_fail_before_any_work(Selector selector, string message)
    {
        var (policy, context) = Toy(prm: false);
        var e = Assert.Throws<ArgumentException>(() =>
            Strategies.Create(StrategyKind.BestOfN, new SearchSettings { Selector = selector }).Solve(ToyPolicy.Problem, context, Budget.Samples(4)));
        Assert.Contains(message, e.Message);
        Assert.Equal(0, policy.Opened);
    }

    [Fact]
    public void A_strategy_built_directly_checks_its_settings_and_a_zero_budget_is_refused_before_any_work()
    {
        Assert.Contains("expansions must be ≥ 1", Assert.Throws<ArgumentException>(() => new BeamSearch(new SearchSettings { Expansions = 0 })).Message);
        Assert.Contains("rounds must be ≥ 1", Assert.Throws<ArgumentException>(() => new SequentialRevision(new SearchSettings { Rounds = 0 })).Message);
        var (policy, context) = Toy(prm: false);
        var e = Assert.Throws<ArgumentException>(() => new BestOfN(new SearchSettings()).Solve(ToyPolicy.Problem, context, Budget.Samples(0)));
        Assert.Equal("best-of-N needs N ≥ 1, got 0", e.Message);
        Assert.Equal(0, policy.Opened);
    }

    [Theory]
    [InlineData(StrategyKind.Beam, 2)]
    [InlineData(StrategyKind.Beam, 6)]
    [InlineData(StrategyKind.Dvts, 3)]
    public void A_budget_that_is_not_a_multiple_of_the_expansions_fails_before_any_work(StrategyKind kind, int n)
    {
        var (policy, context) = Toy(prm: true);
        var e = Assert.Throws<ArgumentException>(() => Strategies.Create(kind, new SearchSettings { Expansions = 4 }).Solve(ToyPolicy.Problem, context, Budget.Samples(n)));
        Assert.Contains("multiple of M", e.Message);
        Assert.Equal(0, policy.Opened);
    }

    [Fact]
    public void Revision_without_a_reviser_fails_before_any_work()
    {
        var (policy, context) = Toy(prm: false);
        Assert.Contains("reviser", Assert.Throws<ArgumentException>(() => Strategies.Create(StrategyKind.Revision).Solve(ToyPolicy.Problem, context, Budget.Samples(4))).Message);
        Assert.Equal(0, policy.Opened);
    }

    [Fact]
    public void Mcts_with_a_single_simulation_is_refused()
    {
        var (policy, context) = Toy(prm: true);
        Assert.Throws<ArgumentException>(() => Strategies.Create(StrategyKind.Mcts).Solve(ToyPolicy.Problem, context, Budget.Samples(1)));
        Assert.Equal(0, policy.Opened);
    }

    [Fact]
    public void Unknown_strategies_and_bad_settings_are_named()
    {
        Assert.Contains("known: greedy, best-of-n, beam", Assert.Throws<ArgumentException>(() => Strategies.Parse("breadth-first")).Message);
        Assert.Contains("known: majority, prm-vote, prm-max", Assert.Throws<ArgumentException>(() => Strategies.ParseEnum<Selector>("selector", "foo")).Message);
        Assert.Equal(StrategyKind.BestOfN, Strategies.Parse("best-of-n"));
        Assert.Contains("expansions", Assert.Throws<ArgumentException>(() => Strategies.Create(StrategyKind.Beam, new SearchSettings { Expansions = 0 })).Message);
        Assert.Contains("temperature", Assert.Throws<ArgumentException>(() => Strategies.Create(StrategyKind.BestOfN, new SearchSettings { Temperature = -1 })).Message);
        Assert.Contains("unknown leaf", Assert.Throws<ArgumentException>(() => Strategies.ParseEnum<LeafValue>("leaf", "oracle")).Message);
    }

    [Fact]
    public void Compute_optimal_refuses_a_samples_budget()
    {
        var optimal = new ComputeOptimal([new PlanEntry("bon-majority", StrategyKind.BestOfN, new SearchSettings(), 4, 100, 10, 0.5)]);
        var (_, context) = Toy(prm: false);
        Assert.Contains("equal compute", Assert.Throws<ArgumentException>(() => optimal.Solve(ToyPolicy.Problem, context, Budget.Samples(4))).Message);
    }
}
