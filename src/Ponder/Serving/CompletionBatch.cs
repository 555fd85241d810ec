namespace Ponder.Serving;

/// <summary>Completions of one prompt with the tokens they cost.</summary>
/// <param name="Choices">The completions, in order.</param>
/// <param name="PromptTokens">Tokens of the prompt (counted once however many completions share it).</param>
/// <param name="CompletionTokens">Tokens generated over all completions.</param>
public sealed record CompletionBatch(IReadOnlyList<Completion> Choices, int PromptTokens, int CompletionTokens);
