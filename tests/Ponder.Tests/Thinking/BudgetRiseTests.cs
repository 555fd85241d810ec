using Ponder.Thinking;

namespace Ponder.Tests.Thinking;

public sealed class BudgetRiseTests
{
    static List<BudgetPoint> Curve(params (int Budget, double Accuracy)[] points) =>
        [.. points.Select(p => new BudgetPoint(p.Budget, false, p.Accuracy, p.Budget, p.Budget, p.Budget, 0, 0))];

    [Fact]
    public void A_rise_ends_where_accuracy_saturates()
    {
        var rise = BudgetRise.Of(Curve((16, 0.05), (32, 0.20), (64, 0.30), (128, 0.29)));
        Assert.Equal((16, 64), (rise!.Low, rise.High));
        Assert.Equal(4, rise.Ratio);
        Assert.Equal(0.25, rise.Gain, 6);
        var late = BudgetRise.Of(Curve((16, 0.02), (32, 0.0), (64, 0.1), (128, 0.2), (256, 0.3)))!;
        Assert.Equal((32, 256), (late.Low, late.High));
    }

    [Fact]
    public void A_rise_of_exactly_five_points_of_problems_counts_though_floating_point_makes_it_0_0499()
    {
        // 60/200 → 70/200 is 0.04999… as doubles; 70/200 → 66/200 is a fall of exactly the 2-point slack
        Assert.True(70 / 200.0 - 60 / 200.0 < BudgetRise.MinGain);
        var rise = BudgetRise.Of(Curve((16, 60 / 200.0), (32, 70 / 200.0)));
        Assert.Equal((16, 32), (rise!.Low, rise.High));
        var withinSlack = BudgetRise.Of(Curve((16, 50 / 200.0), (32, 70 / 200.0), (64, 66 / 200.0), (128, 80 / 200.0)))!;
        Assert.Equal((16, 128), (withinSlack.Low, withinSlack.High));
    }

    [Fact]
    public void A_fall_beyond_the_slack_ends_the_range_and_a_flat_curve_has_none()
    {
        var rise = BudgetRise.Of(Curve((16, 0.0), (32, 0.10), (64, 0.24), (128, 0.10), (256, 0.30)));
        Assert.Equal((16, 64), (rise!.Low, rise.High));
        Assert.Null(BudgetRise.Of(Curve((16, 0.2), (64, 0.22), (256, 0.21))));
    }
}
