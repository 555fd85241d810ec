namespace Ponder.Serving;

/// <summary>One sampled continuation of a prompt, as an OpenAI-compatible endpoint returns it.</summary>
/// <param name="Text">Generated text; a stop string that ended it is not included (OpenAI semantics).</param>
/// <param name="Finish">Why it ended.</param>
/// <param name="Tokens">Tokens generated for it (stop string and EOS included); null when the source only reports
/// totals (a remote endpoint asked for several completions at once).</param>
public sealed record Completion(string Text, CompletionFinish Finish, int? Tokens);
