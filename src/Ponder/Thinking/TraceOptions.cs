namespace Ponder.Thinking;

/// <summary>Settings of the search traces written into thinking sections.</summary>
/// <param name="Style">Exploration order (see <see cref="TraceStyle"/>).</param>
/// <param name="MaxExpansions">Most <c>try</c> lines a trace may hold, which bounds its length to fit the model's context.</param>
/// <param name="Fallback">What happens to a problem the search cannot solve within <paramref name="MaxExpansions"/>.</param>
public sealed record TraceOptions(TraceStyle Style = TraceStyle.Dfs, int MaxExpansions = 24, TraceFallback Fallback = TraceFallback.Drop);
