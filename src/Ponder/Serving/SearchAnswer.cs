using Ponder.Search;

namespace Ponder.Serving;

/// <summary>What a <see cref="SearchReasoner"/> returns for one prompt.</summary>
/// <param name="Chosen">The completion returned to the caller; its <see cref="Completion.Tokens"/> are the answer's tokens.</param>
/// <param name="Answer">The final answer the search read from it; null when none.</param>
/// <param name="PromptTokens">Tokens of the prompt.</param>
/// <param name="Spent">Every token the search spent after the prompt: policy tokens sampled or re-read and reward-model tokens.</param>
/// <param name="Search">The strategy's own result: candidates, scores, compute.</param>
public sealed record SearchAnswer(Completion Chosen, string? Answer, int PromptTokens, long Spent, SearchResult Search)
{
    /// <summary>Tokens spent beyond the returned answer's (OpenAI's <c>reasoning_tokens</c>).</summary>
    public long ReasoningTokens => Spent - (Chosen.Tokens ?? 0);
}
