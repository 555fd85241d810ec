using Ponder.Scaling;
using Ponder.Search;

namespace Ponder.Tests.Scaling;

public sealed class ScalingFitTests
{
    [Fact]
    public void Power_law_fit_recovers_the_exponent_of_noisy_synthetic_data()
    {
        var random = new Random(4);
        var x = Enumerable.Range(0, 12).Select(i => 1e6 * Math.Pow(2, i)).ToList();
        var y = x.Select(v => 3.0 * Math.Pow(v, -0.35) * Math.Exp(0.03 * (random.NextDouble() - 0.5))).ToList();
        var fit = PowerLawFit.Fit(x, y);
        Assert.Equal(-0.35, fit.Exponent, 2);
        Assert.InRange(fit.Coefficient, 2.7, 3.3);
        Assert.True(fit.RSquared > 0.99);
        Assert.Equal(12, fit.Points);
    }

    [Fact]
    public void Power_law_fit_skips_points_that_cannot_be_logged_and_gives_nan_below_two()
    {
        var fit = PowerLawFit.Fit([1, 10, 100], [0.5, 0.0, 0.05]);
        Assert.Equal(2, fit.Points);
        Assert.Equal(-0.5, fit.Exponent, 9);
        Assert.True(double.IsNaN(PowerLawFit.Fit([1, 2], [0.5, 0]).Exponent));
    }

    private static SweepPoint P(string arm, int n, int seed, double acc, double flops) =>
        new(arm, arm, n, seed, 10, (int)(acc * 10), acc, flops, flops / 100, 1, 0);

    [Fact]
    public void Curves_average_seeds_and_interpolate_the_flops_to_reach_an_accuracy_in_log_space()
    {
        var curves = ScalingCurve.From([P("bon-majority", 1, 0, 0.2, 100), P("bon-majority", 1, 1, 0.4, 100), P("bon-majority", 4, 0, 0.5, 400), P("bon-majority", 4, 1, 0.5, 400),
            P("beam", 4, 0, 0.6, 200), P("beam", 4, 1, 0.6, 200)]);
        var majority = curves.Single(c => c.Arm == "bon-majority");
        Assert.Equal(0.3, majority.Points[0].Accuracy, 9);
        Assert.Equal(Math.Sqrt(0.02), majority.Points[0].Spread, 9);
        Assert.Equal(200, majority.FlopsToReach(0.4)!.Value, 6);          // halfway from 0.3 to 0.5 in log FLOPs: √(100·400)
        Assert.Null(majority.FlopsToReach(0.9));
        var efficiency = ScalingAnalysis.Efficiency(curves);
        Assert.Equal(2.0, efficiency.Single(e => e.Arm == "beam").Ratio!.Value, 6);   // beam reaches 0.5 at 200, majority at 400
        Assert.Single(ScalingAnalysis.Beats(curves.Single(c => c.Arm == "beam"), majority));
    }

    [Fact]
    public void Compute_optimal_picks_the_best_validated_setting_that_fits_the_budget()
    {
        var plan = new List<PlanEntry>
        {
            new("greedy", StrategyKind.Greedy, new SearchSettings(), 1, 100, 10, 0.3),
            new("bon-majority", StrategyKind.BestOfN, new SearchSettings(), 4, 400, 40, 0.5),
            new("beam", StrategyKind.Beam, new SearchSettings(), 4, 500, 50, 0.7),
        };
        var optimal = new ComputeOptimal(plan);
        Assert.Equal("greedy", optimal.Pick(Budget.Flops(50)).Name);             // nothing fits: the cheapest
        Assert.Equal("greedy", optimal.Pick(Budget.Flops(399)).Name);
        Assert.Equal("bon-majority", optimal.Pick(Budget.Flops(450)).Name);
        Assert.Equal("beam", optimal.Pick(Budget.Tokens(50)).Name);
    }

    [Fact]
    public void Compute_optimal_rows_compare_the_pick_with_the_best_single_arm_within_the_budget()
    {
        var test = ScalingCurve.From([P("greedy", 1, 0, 0.3, 100), P("bon-majority", 4, 0, 0.5, 400), P("beam", 4, 0, 0.7, 500)]);
        var optimal = new ComputeOptimal([
            new PlanEntry("greedy", StrategyKind.Greedy, new SearchSettings(), 1, 100, 10, 0.3),
            new PlanEntry("bon-majority", StrategyKind.BestOfN, new SearchSettings(), 4, 400, 40, 0.6),
            new PlanEntry("beam", StrategyKind.Beam, new SearchSettings(), 4, 500, 50, 0.55)]);
        var rows = ComputeOptimalPlan.Evaluate(optimal, test);
        Assert.Equal([100.0, 200, 400], rows.Select(r => r.Budget));           // doubling up to the dearest cell (500)
        Assert.Equal(["greedy", "greedy", "bon-majority"], rows.Select(r => r.Chosen));
        Assert.All(rows, r => Assert.True(r.AtLeastAsGood));
    }

    [Fact]
    public void A_pick_that_spends_more_on_test_than_its_budget_is_compared_within_what_it_spent()
    {
        // Given a plan whose best-of-4 cost 90 FLOPs on validation (it fits a budget of 100) but 180 on test, where beam
        // at 150 FLOPs does better than anything within 100
        var test = ScalingCurve.From([P("greedy", 1, 0, 0.3, 50), P("bon-majority", 4, 0, 0.5, 180), P("beam", 4, 0, 0.7, 150)]);
        var optimal = new ComputeOptimal([
            new PlanEntry("greedy", StrategyKind.Greedy, new SearchSettings(), 1, 50, 5, 0.3),
            new PlanEntry("bon-majority", StrategyKind.BestOfN, new SearchSettings(), 4, 90, 9, 0.6),
            new PlanEntry("beam", StrategyKind.Beam, new SearchSettings(), 4, 300, 30, 0.55)]);

        // When compute-optimal is scored at a budget of 100
        var row = ComputeOptimalPlan.Evaluate(optimal, test).Single(r => r.Budget == 100);

        // Then its pick is set against the best arm within the 180 FLOPs it spent (beam), not within 100 (greedy)
        Assert.Equal(("bon-majority", 180.0), (row.Chosen, row.Flops));
        Assert.Equal(("beam", 0.7), (row.BestArm, row.BestAccuracy));
        Assert.False(row.AtLeastAsGood);
    }

    [Fact]
    public void A_point_of_one_seed_claims_no_win_however_large_the_difference()
    {
        var curves = ScalingCurve.From([P("bon-majority", 4, 0, 0.3, 400), P("beam", 4, 0, 0.9, 400)]);
        Assert.Empty(ScalingAnalysis.Beats(curves.Single(c => c.Arm == "beam"), curves.Single(c => c.Arm == "bon-majority")));
    }
}
