namespace Ponder.Rewards;

/// <summary>
/// Named shaping terms added to the verifier's 0/1 outcome reward. All default to off.
/// </summary>
/// <param name="Format">Added when the completion is well formed (every step parses and a final line exists).</param>
/// <param name="LengthPenalty">Subtracted per 100 characters of completion (discourages rambling).</param>
/// <param name="PartialCredit">Weight of the fraction of leading steps that are right, for wrong solutions of tasks with a step checker.</param>
public sealed record RewardShaping(double Format = 0, double LengthPenalty = 0, double PartialCredit = 0);
