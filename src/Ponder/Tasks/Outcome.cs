namespace Ponder.Tasks;

/// <summary>The verdict of a task's verifier on one completion.</summary>
/// <param name="Correct">The final answer is right (for countdown: in addition every step is valid and the last result is the target).</param>
/// <param name="Answer">The parsed final answer, or null when no final-answer line was found.</param>
/// <param name="WellFormed">For built-in tasks: at least one step line, every step line parses in the step format, and a
/// final-answer line is present. For tasks on free text (jsonl): a final answer in a known format was found.</param>
/// <param name="Reason">Short human-readable reason when not correct (e.g. "step 2: 17 is not available"); null when correct.</param>
public sealed record Outcome(bool Correct, string? Answer, bool WellFormed, string? Reason = null);
