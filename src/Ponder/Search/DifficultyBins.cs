namespace Ponder.Search;

/// <summary>
/// Difficulty bins as quantiles of estimated difficulty (<see cref="DifficultyEstimator"/>) on a validation split:
/// bin 0 holds the lowest estimates (hardest), bin Count − 1 the highest. Tied estimates share a bin, so a bin can
/// be empty when many problems tie.
/// </summary>
/// <param name="Edges">Ascending thresholds, Count − 1 of them: a score goes to the number of edges it reaches.</param>
public sealed record DifficultyBins(IReadOnlyList<double> Edges)
{
    public int Count => Edges.Count + 1;

    /// <summary>Quantile edges of <paramref name="scores"/> for <paramref name="bins"/> bins of about equal size.</summary>
    public static DifficultyBins From(IEnumerable<double> scores, int bins)
    {
        ArgumentNullException.ThrowIfNull(scores);
        if (bins < 1) throw new ArgumentException($"bins must be ≥ 1, got {bins}");
        var sorted = scores.Order().ToList();
        if (sorted.Count == 0) throw new ArgumentException("difficulty bins need at least one estimate");
        return new DifficultyBins(Enumerable.Range(1, bins - 1).Select(b => sorted[Math.Min(sorted.Count - 1, b * sorted.Count / bins)]).ToList());
    }

    /// <summary>The bin of an estimate: 0 (hardest) … Count − 1 (easiest).</summary>
    public int Of(double score) => Edges.Count(e => score >= e);
}
