namespace Ponder.Learning;

/// <summary>How per-token losses become one number.</summary>
public enum LossAggregation
{
    /// <summary>Mean over every action token of the batch (long answers weigh more; DAPO, Dr. GRPO).</summary>
    Token,
    /// <summary>Mean over tokens within each sequence, then over sequences (the original GRPO).</summary>
    Sequence,
}
