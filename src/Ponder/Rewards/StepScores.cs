namespace Ponder.Rewards;

/// <summary>Aggregation of per-step scores (probabilities in [0, 1]) into a solution score.</summary>
public static class StepScores
{
    /// <summary>Aggregates <paramref name="scores"/>; an empty list (no step) scores 0.</summary>
    public static double Aggregate(IReadOnlyList<double> scores, Aggregation how)
    {
        if (scores.Count == 0) return 0;
        return how switch
        {
            Aggregation.Min => scores.Min(),
            Aggregation.Last => scores[^1],
            Aggregation.Product => scores.Aggregate(1.0, (p, s) => p * s),
            Aggregation.Mean => scores.Average(),
            _ => throw new ArgumentOutOfRangeException(nameof(how), how, "unknown aggregation"),
        };
    }
}
