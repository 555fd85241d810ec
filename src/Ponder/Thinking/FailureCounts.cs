namespace Ponder.Thinking;

/// <summary>
/// Why the wrong completions of a thinking task failed, each counted once, in this order of precedence (see
/// <see cref="ThinkingBehaviour.Failures"/>).
/// </summary>
/// <param name="Wrong">Completions whose answer does not verify.</param>
/// <param name="Unclosed">The thinking section never closed: the budget or the context ran out.</param>
/// <param name="SolvedThenWrongAnswer">The thinking reached the target with a valid <c>yes:</c> line, but the answer after it does not verify.</param>
/// <param name="Slipped">The thinking never solved and wrote at least one invalid line or invalid backtrack.</param>
/// <param name="EndedUnsolved">The thinking closed without solving and without an invalid line: the search stopped short.</param>
public sealed record FailureCounts(int Wrong, int Unclosed, int SolvedThenWrongAnswer, int Slipped, int EndedUnsolved);
