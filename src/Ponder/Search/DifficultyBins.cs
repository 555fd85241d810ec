namespace Ponder.Search;

/// <summary>
/// Difficulty bins as quantiles of estimated difficulty (<see cref="DifficultyEstimator"/>) on a validation split:
/// bin 0 holds the lowest estimates (hardest), bin Count − 1 the highest. An edge lies midway between two distinct
/// estimates, moved from its quantile to the nearest place where the estimate changes, so tied estimates share a bin;
/// estimates with few distinct values (a 1-sample estimate is 0 or 1) give fewer bins than asked for.
/// </summary>
/// <param name="Edges">Ascending thresholds, Count − 1 of them: a score goes to the number of edges it reaches.</param>
public sealed record DifficultyBins(IReadOnlyList<double> Edges)
{
    public int Count => Edges.Count + 1;

    /// <summary>Edges near the quantiles of <paramref name="scores"/> for at most <paramref name="bins"/> bins of about equal size.</summary>
    public static DifficultyBins From(IEnumerable<double> scores, int bins)
    {
        ArgumentNullException.ThrowIfNull(scores);
        if (bins < 1) throw new ArgumentException($"bins must be ≥ 1, got {bins}");
        var sorted = scores.Order().ToList();
        if (sorted.Count == 0) throw new ArgumentException("difficulty bins need at least one estimate");
        var changes = Enumerable.Range(1, sorted.Count - 1).Where(j => sorted[j - 1] < sorted[j]).ToList();   // sorted[j − 1] < sorted[j]
        if (changes.Count == 0) return new DifficultyBins([]);
        var edges = Enumerable.Range(1, bins - 1).Select(b => changes.MinBy(j => Math.Abs(j - b * sorted.Count / (double)bins)))
            .Distinct().Order().Select(j => (sorted[j - 1] + sorted[j]) / 2).ToList();
        return new DifficultyBins(edges);
    }

    /// <summary>The bin of an estimate: 0 (hardest) … Count − 1 (easiest).</summary>
    public int Of(double score) => Edges.Count(e => score >= e);
}
