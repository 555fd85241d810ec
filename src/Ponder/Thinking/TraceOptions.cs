namespace Ponder.Thinking;

/// <summary>Settings of the search traces written into thinking sections.</summary>
/// <param name="Style">Exploration order (see <see cref="TraceStyle"/>).</param>
/// <param name="MaxExpansions">Most <c>try</c> lines a trace may hold, which bounds its length to fit the model's context.</param>
/// <param name="Fallback">What happens to a problem the search cannot solve within <paramref name="MaxExpansions"/>, or whose
/// completion is longer than <paramref name="MaxLength"/>.</param>
/// <param name="MaxLength">Longest gold completion in characters (0: no limit), so that every training example fits the context.</param>
/// <param name="Path">Which lines carry the moves that led to their state (<see cref="TracePath"/>), so that the answer after a
/// search copies a path rather than re-assembling it from the trace.</param>
public sealed record TraceOptions(TraceStyle Style = TraceStyle.Dfs, int MaxExpansions = 24, TraceFallback Fallback = TraceFallback.Drop, int MaxLength = 0,
    TracePath Path = TracePath.None)
{
    /// <summary>Whether the gold completion of <paramref name="thinking"/> and <paramref name="answer"/> is longer than <see cref="MaxLength"/> characters.</summary>
    public bool TooLong(IReadOnlyList<string> thinking, IReadOnlyList<string> answer) =>
        MaxLength > 0 && Ponder.Tasks.Solution.Join(ThinkingFormat.Wrap(thinking, answer)).Length > MaxLength;
}
