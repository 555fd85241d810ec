using System.Runtime.InteropServices;

namespace Ponder.Policy;

/// <summary>Stop-string matching on generated tokens, decoding only a tail wide enough for any of the stop strings.</summary>
internal static class StopStrings
{
    /// <summary>Generated tokens to decode to see whether the text ends with one of <paramref name="stops"/> (0: none given).</summary>
    public static int Window(IReadOnlyList<string> stops) => stops.Count == 0 ? 0 : 4 * stops.Max(s => s.Length) + 8;

    /// <summary>The first of <paramref name="stops"/> the decoded <paramref name="tokens"/> end with, or null.</summary>
    public static string? Ending(ITokenizer tokenizer, List<int> tokens, IReadOnlyList<string> stops, int window)
    {
        if (window == 0) return null;
        var tail = tokenizer.Decode(CollectionsMarshal.AsSpan(tokens)[Math.Max(0, tokens.Count - window)..]);
        foreach (var stop in stops)
            if (tail.EndsWith(stop, StringComparison.Ordinal)) return stop;
        return null;
    }
}
