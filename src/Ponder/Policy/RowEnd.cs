namespace Ponder.Policy;

/// <summary>Why a generated row ends after its latest token, as the generator and the server's batch both decide it.</summary>
/// <param name="Reason">EOS (any of the model's end tokens), a stop string, abandoned, or the token limit or context.</param>
/// <param name="Stop">The stop string, for <see cref="FinishReason.Stop"/>.</param>
/// <param name="Overshoot">Characters the last token wrote after its stop string (cut from the row's text).</param>
internal readonly record struct RowEnd(FinishReason Reason, string? Stop = null, int Overshoot = 0)
{
    /// <summary>
    /// The end of a row whose latest token is the last of <paramref name="tokens"/>, or null while it goes on: an end token
    /// (unless <see cref="SamplingOptions.IgnoreEos"/>) or one of <see cref="SamplingOptions.StopTokenIds"/> (even then, as
    /// in vLLM), then a stop string, then <paramref name="abandoned"/> (asked only
    /// when the earlier ones do not end it), then the token limit or a full context.
    /// </summary>
    public static RowEnd? After(List<int> tokens, SamplingOptions options, HashSet<int> ends, ITokenizer tokenizer, int stopWindow, bool contextFull,
        Func<bool>? abandoned = null)
    {
        if ((!options.IgnoreEos && ends.Contains(tokens[^1])) || options.StopTokenIds.Contains(tokens[^1])) return new RowEnd(FinishReason.Eos);
        if (StopStrings.Find(tokenizer, tokens, options.Stop, stopWindow) is { } stop) return new RowEnd(FinishReason.Stop, stop.Stop, stop.After);
        if (abandoned?.Invoke() == true) return new RowEnd(FinishReason.Abandoned);
        if (tokens.Count >= options.MaxNewTokens || contextFull) return new RowEnd(FinishReason.Length);
        return null;
    }
}
