using Ponder.Rewards;

namespace Ponder.Tests.Rewards;

public sealed class ClassificationTests
{
    [Fact]
    public void Auc_is_one_for_perfect_ranking_half_for_ties_and_counts_pairs()
    {
        Assert.Equal(1.0, Classification.RocAuc([0.1, 0.2, 0.8, 0.9], [false, false, true, true]));
        Assert.Equal(0.5, Classification.RocAuc([0.5, 0.5, 0.5, 0.5], [false, true, false, true]));
        // Positives 0.6, 0.3; negatives 0.4, 0.1: pairs won 0.6>0.4, 0.6>0.1, 0.3>0.1; lost 0.3<0.4 → 3/4.
        Assert.Equal(0.75, Classification.RocAuc([0.6, 0.3, 0.4, 0.1], [true, true, false, false]));
        Assert.True(double.IsNaN(Classification.RocAuc([0.1, 0.2], [true, true])));
    }

    [Fact]
    public void Ece_is_zero_when_calibrated_and_the_gap_when_not()
    {
        // Ten predictions of 0.25, a quarter of them right (bin [0.2, 0.3)): calibrated.
        var p = Enumerable.Repeat(0.25, 8).ToList();
        var y = new List<bool> { true, true, false, false, false, false, false, false };
        Assert.Equal(0.0, Classification.ExpectedCalibrationError(p, y), 12);

        // Always 0.9 but right half the time: gap 0.4.
        Assert.Equal(0.4, Classification.ExpectedCalibrationError([0.9, 0.9, 0.9, 0.9], [true, false, true, false]), 12);
    }

    [Fact]
    public void Reliability_bins_cover_zero_to_one_including_the_top_edge()
    {
        var bins = Classification.Reliability([0.0, 0.05, 1.0], [false, false, true], bins: 10);
        Assert.Equal(10, bins.Count);
        Assert.Equal(2, bins[0].Count);
        Assert.Equal(1, bins[9].Count);
        Assert.Equal(1.0, bins[9].Observed);
    }

    [Fact]
    public void First_error_f1_is_the_harmonic_mean_of_both_accuracies()
    {
        // truth: errors at 1 and 2, two correct solutions; predictions get one error and one correct right.
        var (err, cor, f1) = Classification.FirstError([1, 2, -1, -1], [1, 0, -1, 3]);
        Assert.Equal(0.5, err);
        Assert.Equal(0.5, cor);
        Assert.Equal(0.5, f1);
        Assert.Equal(1, Classification.FirstBelow([0.9, 0.2, 0.1], 0.5));
        Assert.Equal(-1, Classification.FirstBelow([0.9, 0.8], 0.5));
    }

    [Fact]
    public void First_error_f1_is_undefined_when_no_solution_has_an_error()
    {
        // every solution right, every prediction right: nothing to tell about finding errors (not an F1 of 0)
        var (err, cor, f1) = Classification.FirstError([-1, -1], [-1, -1]);
        Assert.True(double.IsNaN(err));
        Assert.Equal(1.0, cor);
        Assert.True(double.IsNaN(f1));
    }

    [Theory]
    [InlineData(Aggregation.Min, 0.5)]
    [InlineData(Aggregation.Last, 0.8)]
    [InlineData(Aggregation.Product, 0.9 * 0.5 * 0.8)]
    [InlineData(Aggregation.Mean, (0.9 + 0.5 + 0.8) / 3)]
    public void Step_scores_aggregate_as_named(Aggregation how, double expected)
    {
        Assert.Equal(expected, StepScores.Aggregate([0.9, 0.5, 0.8], how), 12);
    }
}
