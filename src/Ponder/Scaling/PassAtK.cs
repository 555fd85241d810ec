namespace Ponder.Scaling;

/// <summary>Sample-based accuracy estimators over n samples per problem.</summary>
public static class PassAtK
{
    /// <summary>
    /// Unbiased pass@k (Chen et al. 2021): the chance that at least one of k samples drawn without
    /// replacement from n samples, c of them correct, is correct: 1 − C(n−c, k) / C(n, k).
    /// Computed as a running product to stay exact for large n.
    /// </summary>
    public static double Estimate(int n, int c, int k)
    {
        if (k < 1 || k > n) throw new ArgumentOutOfRangeException(nameof(k), $"k must be in 1..{n}, got {k}");
        if (c < 0 || c > n) throw new ArgumentOutOfRangeException(nameof(c), $"c must be in 0..{n}, got {c}");
        if (n - c < k) return 1.0;
        double fail = 1.0;
        for (int i = n - c + 1; i <= n; i++) fail *= 1.0 - (double)k / i;
        return 1.0 - fail;
    }

    /// <summary>
    /// Majority vote over k samples, averaged over the n/k disjoint groups of k consecutive samples.
    /// A group's vote is right when its most frequent answer (ties: the one seen first; null answers
    /// do not vote) belongs to a correct sample — for countdown, where every final line names the
    /// target, that is the first sample giving the winning answer.
    /// </summary>
    public static double MajorityAtK(IReadOnlyList<(string? Answer, bool Correct)> samples, int k)
    {
        if (k < 1 || k > samples.Count) throw new ArgumentOutOfRangeException(nameof(k), $"k must be in 1..{samples.Count}, got {k}");
        int groups = samples.Count / k, hits = 0;
        for (int g = 0; g < groups; g++)
        {
            var group = samples.Skip(g * k).Take(k).ToList();
            string? winner = Vote.Majority(group.Select(s => s.Answer));
            if (winner is not null && group.First(s => s.Answer == winner).Correct) hits++;
        }
        return (double)hits / groups;
    }
}
