namespace Ponder.Rewards;

/// <summary>What making a label set cost, in policy tokens and wall time.</summary>
/// <param name="SampledTokens">Tokens decoded while sampling the solutions to label.</param>
/// <param name="RolloutTokens">Tokens decoded by the Monte-Carlo completions of step prefixes.</param>
/// <param name="PrefillTokens">Tokens run through the policy in parallel (prompts and step prefixes, each distinct prefix once).</param>
/// <param name="Rollouts">Completions run (distinct step prefixes × k).</param>
/// <param name="Seconds">Wall time of labelling.</param>
public sealed record LabelCost(long SampledTokens, long RolloutTokens, long PrefillTokens, long Rollouts, double Seconds);
