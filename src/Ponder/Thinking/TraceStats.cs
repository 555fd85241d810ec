namespace Ponder.Thinking;

/// <summary>What a thinking section did, read line by line against the puzzle (see <see cref="TraceReader"/>).</summary>
/// <param name="Tries">Moves written (<c>try</c> lines).</param>
/// <param name="DeadEnds">Self-detected errors: right <c>no:</c> lines, a valid candidate checked against the target and rejected
/// (a <c>no:</c> line that does not follow from its move counts as invalid instead).</param>
/// <param name="Backtracks">Returns to an earlier state (<c>back to</c> lines).</param>
/// <param name="InvalidLines">Lines in the trace language that are wrong: a move not playable from the current state or with
/// wrong arithmetic, a state or verdict that does not follow from its move, a line out of place. One fault counts once: the line
/// answering an invalid move is not counted again for not following from it.</param>
/// <param name="InvalidBacktracks">Returns to a state that is not an ancestor (depth first) or not a generated, unvisited state (frontier styles).</param>
/// <param name="OtherLines">Lines outside the trace language (for example a budget-forcing cue).</param>
/// <param name="Solved">A correct <c>yes:</c> line: a valid move whose result is the target.</param>
/// <param name="Revised">Solved after at least one rejected candidate: the answer changed after a check.</param>
public sealed record TraceStats(int Tries, int DeadEnds, int Backtracks, int InvalidLines, int InvalidBacktracks, int OtherLines, bool Solved, bool Revised);
