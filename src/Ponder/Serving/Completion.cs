namespace Ponder.Serving;

/// <summary>One sampled continuation of a prompt, as an OpenAI-compatible endpoint returns it.</summary>
/// <param name="Text">Generated text; a stop string that ended it is not included (OpenAI semantics).</param>
/// <param name="Finish">Why it ended.</param>
/// <param name="Tokens">Tokens generated for it (stop string and EOS included); null when the source only reports
/// totals (a remote endpoint asked for several completions at once).</param>
public sealed record Completion(string Text, CompletionFinish Finish, int? Tokens)
{
    /// <summary>The tokens of <see cref="Text"/> with their log-probabilities, when the request asked for them (<c>logprobs</c>).</summary>
    public IReadOnlyList<ServedToken>? LogProbs { get; init; }
}

/// <summary>
/// One token of a returned text: its text, its UTF-8 bytes (part of a character for some byte-level tokens, whose text
/// is then U+FFFD), where it starts in the returned text, its log-probability under the plain model distribution (null
/// for an echoed prompt's first token, which nothing precedes), and the most likely tokens at its position (as many as
/// the request's <c>top_logprobs</c>), most likely first.
/// </summary>
public sealed record ServedToken(string Text, byte[] Bytes, int Offset, float? LogProb, IReadOnlyList<(string Text, byte[] Bytes, float LogProb)> Top);
