using Ponder.Scaling;

namespace Ponder.Tests.Scaling;

public sealed class PassAtKTests
{
    [Theory]
    [InlineData(4, 1, 1, 0.25)]        // c/n
    [InlineData(4, 1, 2, 0.5)]         // 1 - C(3,2)/C(4,2) = 1 - 3/6
    [InlineData(5, 2, 3, 0.9)]         // 1 - C(3,3)/C(5,3) = 1 - 1/10
    [InlineData(10, 3, 4, 1 - 35.0 / 210)] // 1 - C(7,4)/C(10,4)
    [InlineData(8, 0, 8, 0.0)]
    [InlineData(8, 5, 4, 1.0)]         // n - c < k: every draw of 4 holds a correct one
    public void Unbiased_estimator_matches_hand_computed_values(int n, int c, int k, double expected)
    {
        Assert.Equal(expected, PassAtK.Estimate(n, c, k), 12);
    }

    [Fact]
    public void Estimator_rejects_k_larger_than_n()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => PassAtK.Estimate(4, 1, 5));
    }

    [Fact]
    public void Majority_at_k_averages_disjoint_groups()
    {
        // Given 4 samples: two groups of 2 for k=2; group 1 votes "7" (first seen wins the tie), group 2 votes "9".
        var samples = new List<(string?, bool)> { ("7", true), ("8", false), ("9", false), ("9", false) };

        // Then k=1 is the fraction correct, k=2 has one right group of two, k=4 votes "9" (2 of 4).
        Assert.Equal(0.25, PassAtK.MajorityAtK(samples, 1));
        Assert.Equal(0.5, PassAtK.MajorityAtK(samples, 2));
        Assert.Equal(0.0, PassAtK.MajorityAtK(samples, 4));
    }

    [Fact]
    public void Null_answers_do_not_vote()
    {
        var samples = new List<(string?, bool)> { (null, false), (null, false), ("5", true) };
        Assert.Equal(1.0, PassAtK.MajorityAtK(samples, 3));
        Assert.Null(Vote.Majority([null, null]));
    }

    [Fact]
    public void Weighted_vote_picks_the_heaviest_answer()
    {
        Assert.Equal("b", Vote.Weighted([("a", 0.4), ("b", 0.9), ("a", 0.3)]));
    }
}
