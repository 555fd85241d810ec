using System.Runtime.InteropServices;

namespace Ponder.Policy;

/// <summary>Stop-string matching on generated tokens, decoding only a tail wide enough for any of the stop strings.</summary>
internal static class StopStrings
{
    /// <summary>Generated tokens to decode to see whether the text ends with one of <paramref name="stops"/> (0: none given).</summary>
    public static int Window(IReadOnlyList<string> stops) => stops.Count == 0 ? 0 : 4 * stops.Max(s => s.Length) + 8;

    /// <summary>
    /// The stop string the last of <paramref name="tokens"/> completed, earliest first (as vLLM and OpenAI stop at the first
    /// occurrence), and how many characters that token wrote after it; null when it completed none. A token may carry
    /// more than the stop's end (<c>"```\n"</c> after <c>"``"</c>, <c>"&gt;\n\n"</c> ending <c>&lt;/think&gt;</c>).
    /// </summary>
    public static (string Stop, int After)? Find(ITokenizer tokenizer, List<int> tokens, IReadOnlyList<string> stops, int window)
    {
        if (window == 0 || tokens.Count == 0) return null;
        var span = CollectionsMarshal.AsSpan(tokens)[Math.Max(0, tokens.Count - window)..];
        var tail = tokenizer.Decode(span);
        // The text before the last token, less a character it leaves unfinished (decoded as U+FFFD until the last token
        // completes it): the last token's text starts there.
        var before = span.Length == 1 ? 0 : tokenizer.Decode(span[..^1]).TrimEnd('\uFFFD').Length;
        (string Stop, int End)? first = null;
        foreach (var stop in stops)
        {
            // only an occurrence that ends in the last token's text is new (an earlier one would have stopped the row)
            var at = tail.IndexOf(stop, Math.Max(0, Math.Min(tail.Length, before - stop.Length + 1)), StringComparison.Ordinal);
            if (at >= 0 && at + stop.Length > before && (first is null || at + stop.Length < first.Value.End)) first = (stop, at + stop.Length);
        }
        return first is { } f ? (f.Stop, tail.Length - f.End) : null;
    }
}
