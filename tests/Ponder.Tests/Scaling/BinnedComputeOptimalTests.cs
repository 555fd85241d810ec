using Ponder.Rewards;
using Ponder.Scaling;
using Ponder.Search;
using Ponder.Tasks;
using Ponder.Tests.Search;

namespace Ponder.Tests.Scaling;

/// <summary>
/// Easy and hard problems that favour different strategies. Easy: the policy is right 80% of the time, but the PRM
/// prefers its wrong path (0.9 vs 0.8), so majority wins and PRM-max loses. Hard: the policy is right 20% of the
/// time and the PRM prefers the right path (0.4 vs 0.1), so PRM-max wins and majority loses. At equal compute
/// either single strategy is right on about half the problems; the PRM's mean score tells easy (≈0.8) from hard (≈0.2).
/// </summary>
public sealed class BinnedComputeOptimalTests
{
    private sealed class TwoLevelTask : ITask
    {
        public string Name => "two-level";
        public bool HasStepChecker => false;

        public IReadOnlyList<Problem> Problems(Split split, int count, int seed) =>
            Enumerable.Range(0, count).Select(i => new Problem($"{split}-{i}", i % 2 == 0 ? "easy?\n" : "hard?\n", "2")).ToList();

        public Outcome Check(Problem problem, string completion)
        {
            string? answer = ToyPolicy.AnswerOf(problem, completion);
            return new Outcome(answer == "2", answer, answer is not null);
        }

        public IReadOnlyList<string> GoldSolution(Problem problem) => [];
        public bool CheckStep(Problem problem, IReadOnlyList<string> steps) => throw new NotSupportedException();
    }

    private sealed class TwoLevelPolicy : ISearchPolicy
    {
        private readonly ToyPolicy _easy = new(new() { [""] = [("ea", 0.8), ("eb", 0.2)], ["ea\n"] = [("#2", 1)], ["eb\n"] = [("#3", 1)] });
        private readonly ToyPolicy _hard = new(new() { [""] = [("ha", 0.2), ("hb", 0.8)], ["ha\n"] = [("#2", 1)], ["hb\n"] = [("#7", 1)] });

        public FlopsModel Flops => _easy.Flops;

        public ISearchSession Open(Problem problem, ComputeMeter meter) => (problem.Prompt == "easy?\n" ? _easy : _hard).Open(problem, meter);
    }

    private static IProcessReward Prm() =>
        new ToyReward(new() { ["ea"] = 0.8, ["eb"] = 0.9, ["ha"] = 0.4, ["hb"] = 0.1, ["#2"] = 1, ["#3"] = 1, ["#7"] = 1 });

    private static readonly SweepArm[] Arms =
    [
        new("bon-majority", StrategyKind.BestOfN, new SearchSettings { Selector = Selector.Majority }),
        new("bon-prm-max", StrategyKind.BestOfN, new SearchSettings { Selector = Selector.PrmMax, Aggregation = Aggregation.Min }),
    ];

    private static readonly DifficultyEstimator Estimator = new() { Samples = 2, Aggregation = Aggregation.Min };

    [Fact]
    public void Binned_compute_optimal_beats_unbinned_when_easy_and_hard_problems_favour_different_strategies()
    {
        // Given validation and test sweeps of majority and PRM-max on the two-level task
        var task = new TwoLevelTask();
        var policy = new TwoLevelPolicy();
        var context = new SearchContext(policy, (p, text) => task.Check(p, text).Answer) { Prm = Prm() };
        var test = new SweepOptions { Budgets = [1, 2, 4, 8, 16], Seeds = 2, Problems = 24 };
        var validation = test with { Split = Split.Train };
        var testPoints = ScalingSweep.Run(task, policy, context, Arms, test);
        var validationPoints = ScalingSweep.Run(task, policy, context, Arms, validation);
        var curves = ScalingCurve.From(testPoints);
        var unbinned = new ComputeOptimal(ComputeOptimalPlan.From(validationPoints, Arms));

        // When compute-optimal is chosen per difficulty bin (2 bins of the PRM's mean score on 2 samples)
        var binned = BinnedPlan.From(validationPoints, Arms, BinnedPlan.Estimate(task, context, validation, Estimator), 2, Estimator);
        var rows = BinnedPlan.Evaluate(binned, unbinned, testPoints, BinnedPlan.Estimate(task, context, test, Estimator), curves);

        // Then easy problems go to majority and hard ones to PRM-max, and binned beats unbinned at the larger budgets
        var budget = Budget.Flops(curves.SelectMany(c => c.Points).Max(p => p.Flops));
        Assert.Equal("bon-prm-max", binned.Pick(0, budget).Name);
        Assert.Equal("bon-majority", binned.Pick(1, budget).Name);
        var top = rows[^1];
        Assert.True(top.Accuracy > top.UnbinnedAccuracy + 0.15, $"binned {top.Accuracy:P0} vs unbinned {top.UnbinnedAccuracy:P0}");
        Assert.True(top.Accuracy > top.BestAccuracy + 0.15, $"binned {top.Accuracy:P0} vs best single {top.BestAccuracy:P0}");
        Assert.True(top.Flops <= top.Budget * 1.05, $"spent {top.Flops:G3} of {top.Budget:G3}");
        Assert.True(top.EstimateFlops > 0);
    }

    [Fact]
    public void Binned_strategy_charges_the_estimate_and_runs_the_bins_pick()
    {
        var task = new TwoLevelTask();
        var context = new SearchContext(new TwoLevelPolicy(), (p, text) => task.Check(p, text).Answer) { Prm = Prm(), Seed = 5 };
        var cheap = new PlanEntry("bon-majority", StrategyKind.BestOfN, Arms[0].Settings, 4, 100, 10, 0.9);
        var tree = new PlanEntry("bon-prm-max", StrategyKind.BestOfN, Arms[1].Settings, 4, 100, 10, 0.6);
        var strategy = new BinnedComputeOptimal(Estimator, new DifficultyBins([0.5]), [[tree], [cheap]]);
        var hard = task.Problems(Split.Test, 2, 0)[1];
        var result = strategy.Solve(hard, context, Budget.Flops(1e6));
        var alone = Strategies.Create(StrategyKind.BestOfN, Arms[1].Settings).Solve(hard, context, Budget.Samples(4));
        var (_, estimate) = Estimator.Estimate(hard, context);
        Assert.Contains("bin 1/2 → bon-prm-max N=4", result.Description);
        Assert.Equal(alone.Completion, result.Completion);
        Assert.Equal(alone.Compute.Flops + estimate.Flops, result.Compute.Flops, 6);
    }

    [Fact]
    public void Every_entry_a_bin_could_pick_once_the_estimate_is_paid_is_checked_before_any_work()
    {
        // Given a bin whose plan picks majority at the whole budget, and a PRM-max entry the budget left after the
        // estimate could pick; and a context without a PRM
        var task = new TwoLevelTask();
        var policy = new ToyPolicy(new() { [""] = [("a", 1.0)], ["a\n"] = [("#2", 1)] });
        var context = new SearchContext(policy, (p, text) => task.Check(p, text).Answer);
        var majority = new PlanEntry("bon-majority", StrategyKind.BestOfN, Arms[0].Settings, 8, 1000, 100, 0.9);
        var prmMax = new PlanEntry("bon-prm-max", StrategyKind.BestOfN, Arms[1].Settings, 2, 10, 1, 0.5);
        var strategy = new BinnedComputeOptimal(Estimator with { Aggregation = Aggregation.Min }, new DifficultyBins([]), [[majority, prmMax]]);

        // When it is checked, Then the PRM-max entry is refused for the missing PRM
        Assert.Equal("bon-majority", strategy.Pick(0, Budget.Flops(2000)).Name);
        Assert.Contains("process reward", Assert.Throws<ArgumentException>(() => strategy.Check(context, Budget.Flops(2000))).Message);
        Assert.Equal(0, policy.Opened);

        // And an entry no budget left of it could pick (dearer than the whole budget, not the cheapest) is not asked to run
        var dear = new BinnedComputeOptimal(Estimator, new DifficultyBins([]), [[majority, prmMax with { Flops = 5000 }]]);
        dear.Check(context, Budget.Flops(2000));
    }

    [Fact]
    public void Bins_are_validation_quantiles_with_the_hardest_first_and_ties_kept_together()
    {
        var bins = DifficultyBins.From([0.8, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7], 4);
        Assert.Equal([0.25, 0.45, 0.65], bins.Edges.Select(e => Math.Round(e, 6)));
        Assert.Equal(0, bins.Of(0.05));
        Assert.Equal(1, bins.Of(0.3));
        Assert.Equal(3, bins.Of(0.95));
        // A 1-sample estimate is 0 or 1: the edge goes between them, wherever the median falls
        Assert.Equal([0.5], DifficultyBins.From([0, 0, 0, 0, 0, 1, 1, 1], 2).Edges);
        Assert.Equal([0.5], DifficultyBins.From([0, 1, 1, 1, 1, 1, 1, 1], 4).Edges);
        Assert.Empty(DifficultyBins.From([0.3, 0.3], 2).Edges);
        Assert.Throws<ArgumentException>(() => DifficultyBins.From([], 2));
    }

    [Fact]
    public void Default_arms_sample_at_the_given_temperature_and_greedy_stays_greedy()
    {
        var arms = SweepArm.Defaults(prm: true, orm: false, verifier: false, reviser: true, temperature: 0.6);
        Assert.All(arms.Where(a => a.Kind != StrategyKind.Greedy), a => Assert.Equal(0.6, a.Settings.Temperature));
        Assert.Throws<ArgumentException>(() => SweepArm.Defaults(prm: false, orm: false, verifier: false, temperature: -1));
    }
}
