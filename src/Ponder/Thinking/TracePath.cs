namespace Ponder.Thinking;

/// <summary>Which lines of a search trace carry the moves that led to their state (<c>3 12 -> 36 | 7+5=12</c>).</summary>
public enum TracePath
{
    /// <summary>No line: the answer re-assembles its path from moves scattered over the trace.</summary>
    None,
    /// <summary>Every state line, as Stream of Search's: the answer copies the path of the state it solved from.</summary>
    States,
    /// <summary>
    /// Only the <c>back to</c> lines. After the last backtrack a depth-first search goes down to the solution without
    /// returning, so the answer is that line's path, then the moves after it that led to a state, then the solving move
    /// (a frontier search: the path and the solving move): a short copy, for a few more tokens a backtrack.
    /// </summary>
    BackTo,
}
