namespace Ponder.Thinking;

/// <summary>A search written out as text, with what it did.</summary>
/// <param name="Thinking">The lines of the thinking section (without the markers).</param>
/// <param name="Answer">The answer lines after it: the solution steps, then <c>#target</c>.</param>
/// <param name="Expansions">The <c>try</c> lines: moves generated.</param>
/// <param name="DeadEnds">The <c>no:</c> lines: a move's result recognised as not the target with nothing left to combine.</param>
/// <param name="Backtracks">The <c>back to</c> lines: returns to an earlier state.</param>
public sealed record SearchTrace(IReadOnlyList<string> Thinking, IReadOnlyList<string> Answer, int Expansions, int DeadEnds, int Backtracks);
