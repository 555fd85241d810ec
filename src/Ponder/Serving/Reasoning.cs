namespace Ponder.Serving;

/// <summary>What a reasoner returns for one prompt: the answer it chose and everything it spent to choose it.</summary>
/// <param name="Chosen">The completion returned to the caller.</param>
/// <param name="Answer">The final answer read from <paramref name="Chosen"/>; null when none could be read.</param>
/// <param name="Candidates">Every completion sampled (the chosen one among them).</param>
/// <param name="PromptTokens">Tokens of the prompt.</param>
/// <param name="CompletionTokens">Tokens generated over all candidates.</param>
public sealed record Reasoning(Completion Chosen, string? Answer, IReadOnlyList<Completion> Candidates, int PromptTokens, int CompletionTokens)
{
    /// <summary>Tokens spent beyond the returned answer (OpenAI's reasoning_tokens); null when per-completion counts are unknown.</summary>
    public int? ReasoningTokens => Chosen.Tokens is int answer ? CompletionTokens - answer : null;
}
