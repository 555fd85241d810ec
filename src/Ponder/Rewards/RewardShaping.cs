namespace Ponder.Rewards;

/// <summary>
/// Named shaping terms added to the verifier's 0/1 outcome reward. All default to off.
/// </summary>
/// <param name="Format">Added when the completion is well formed (every step parses and a final line exists).</param>
/// <param name="LengthPenalty">Subtracted per 100 characters of completion (discourages rambling).</param>
/// <param name="PartialCredit">Weight of the fraction of leading steps that are right, for wrong solutions of tasks with a step checker.</param>
/// <param name="StrictSteps">
/// A right final answer earns the reward only if every step checks too (tasks with a step checker): no reward for errors
/// that cancel out. Such a completion counts as wrong, for partial credit as well.
/// </param>
public sealed record RewardShaping(double Format = 0, double LengthPenalty = 0, double PartialCredit = 0, bool StrictSteps = false);
