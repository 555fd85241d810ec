namespace Ponder.Learning;

/// <summary>How per-token losses become one number.</summary>
public enum LossAggregation
{
    /// <summary>Mean over every action token of the batch (long answers weigh more; DAPO, TRL's <c>bnpo</c>).</summary>
    Token,
    /// <summary>Mean over tokens within each sequence, then over sequences (the original GRPO).</summary>
    Sequence,
    /// <summary>
    /// Sum over the batch's action tokens divided by a constant, rows × the rollouts' token limit (Dr. GRPO, TRL's
    /// <c>dr_grpo</c>): no length-dependent normalizer, so a token weighs the same in a short batch as in a long one.
    /// </summary>
    Constant,
}
