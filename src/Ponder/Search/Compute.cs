namespace Ponder.Search;

/// <summary>
/// Compute spent by one search (or a sum of searches): tokens the policy ran in parallel (prefill) and one at a
/// time (decode), tokens it sampled, tokens a reward model read, and the FLOPs of all of them.
/// </summary>
/// <param name="PrefillTokens">Policy tokens run through the model in parallel (prompts, appended text).</param>
/// <param name="DecodeTokens">Policy tokens run through the model one step at a time while sampling.</param>
/// <param name="GeneratedTokens">Tokens the policy sampled (the last token of a finished row is sampled but never run).</param>
/// <param name="RewardTokens">Tokens a reward model ran through its network.</param>
/// <param name="PolicyFlops">Forward FLOPs of the policy tokens.</param>
/// <param name="RewardFlops">Forward FLOPs of the reward-model tokens.</param>
public sealed record Compute(long PrefillTokens, long DecodeTokens, long GeneratedTokens, long RewardTokens, double PolicyFlops, double RewardFlops)
{
    public static Compute Zero { get; } = new(0, 0, 0, 0, 0, 0);

    /// <summary>Every token any network ran (policy and reward model).</summary>
    public long Tokens => PrefillTokens + DecodeTokens + RewardTokens;

    public double Flops => PolicyFlops + RewardFlops;

    /// <summary>Policy tokens run ÷ tokens sampled: 1 when nothing is ever recomputed (shared prefixes counted once).</summary>
    public double ForwardPerGenerated => GeneratedTokens == 0 ? double.NaN : (PrefillTokens + DecodeTokens) / (double)GeneratedTokens;

    public static Compute operator +(Compute a, Compute b) => new(
        a.PrefillTokens + b.PrefillTokens, a.DecodeTokens + b.DecodeTokens, a.GeneratedTokens + b.GeneratedTokens,
        a.RewardTokens + b.RewardTokens, a.PolicyFlops + b.PolicyFlops, a.RewardFlops + b.RewardFlops);

    public override string ToString() =>
        $"{Flops:G3} FLOPs: policy {PrefillTokens} prefill + {DecodeTokens} decode tokens ({GeneratedTokens} sampled), reward model {RewardTokens} tokens";
}
