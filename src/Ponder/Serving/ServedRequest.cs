using Ponder.Policy;

namespace Ponder.Serving;

/// <summary>A parsed, validated request to either completions endpoint.</summary>
/// <param name="Chat">True for <c>/v1/chat/completions</c>, false for <c>/v1/completions</c>.</param>
/// <param name="Prompts">What the policy continues: for chat the messages rendered by the template; for completions
/// each prompt of the request (a string, or token ids), whose choices come prompt after prompt.</param>
/// <param name="N">Choices to return.</param>
/// <param name="Sampling">Sampling options; MaxNewTokens is the request's limit (or 0 when it gave none) and Seed is resolved.</param>
/// <param name="Effort">reasoning_effort, when given.</param>
/// <param name="Stream">Answer as server-sent events.</param>
/// <param name="IncludeUsage">Send a final usage chunk when streaming.</param>
/// <param name="LogProbs">Return each token's log-probability and this many most likely tokens at its position; null: none.</param>
/// <param name="Echo">Return the prompt before each completion (completions only), with its tokens' log-probabilities when asked.</param>
/// <param name="PromptOnly">max_tokens 0 with echo: nothing is generated, the prompt alone is returned (and scored).</param>
internal sealed record ServedRequest(bool Chat, string Model, IReadOnlyList<PromptInput> Prompts, int N, SamplingOptions Sampling,
    ReasoningEffort? Effort, bool Stream, bool IncludeUsage, int? LogProbs = null, bool Echo = false, bool PromptOnly = false)
{
    /// <summary>The stop string a choice stopped at stays at the end of its text (vLLM's <c>include_stop_str_in_output</c>).</summary>
    public bool IncludeStop { get; init; }

    /// <summary>
    /// Whether the request gave its seed: then every prompt samples with it (as vLLM's requests of one seed do); otherwise
    /// the drawn seed is mixed with each prompt's index, so prompts sample independently.
    /// </summary>
    public bool SeedGiven { get; init; }
}

/// <summary>One prompt as a request gives it: text, or token ids (completions only), exactly one of them.</summary>
internal sealed record PromptInput(string? Text, int[]? Ids);
