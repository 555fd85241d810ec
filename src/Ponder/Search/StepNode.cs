namespace Ponder.Search;

/// <summary>
/// A partial or finished solution in a search: the text written after the prompt so far, one step a line.
/// Made only by an <see cref="ISearchSession"/>; its <see cref="Handle"/> (the session's private state, e.g. a
/// KV-cache row) lets that session continue it without recomputing the prefix.
/// </summary>
/// <param name="Text">Completion text so far (steps joined by newlines; the last step's newline included once written).</param>
/// <param name="Steps">Non-empty lines of <paramref name="Text"/>.</param>
/// <param name="StepLogProb">Model log-probability of the last step (of the whole text for a sampled solution); 0 at the root.</param>
/// <param name="Finished">No step can follow: a final-answer line, end of sequence, or a length limit. Only finished nodes are answers.</param>
/// <param name="Handle">The session's own continuation state; null when the node cannot be continued.</param>
public sealed record StepNode(string Text, IReadOnlyList<string> Steps, double StepLogProb, bool Finished, object? Handle)
{
    public int Depth => Steps.Count;

    /// <summary>
    /// The token ids the policy sampled for this node after its parent (its last step; a rollout's whole continuation),
    /// EOS included when it ended there; null where a session does not keep them (or at the root).
    /// </summary>
    public IReadOnlyList<int>? StepTokens { get; init; }
}
