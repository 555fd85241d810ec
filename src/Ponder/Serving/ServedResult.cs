namespace Ponder.Serving;

/// <summary>What a served request produced: its choices and the usage to report.</summary>
/// <param name="ReasoningTokens">Tokens generated beyond the returned choices (by a reasoning_effort vote).</param>
internal sealed record ServedResult(IReadOnlyList<Completion> Choices, int PromptTokens, int CompletionTokens, int ReasoningTokens);
