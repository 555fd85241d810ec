namespace Ponder.Thinking;

/// <summary>
/// The thinking/answer format: a completion is <c>&lt;think&gt;</c>, the trace lines, <c>&lt;/think&gt;</c>, then the task's own
/// answer lines (for countdown: steps and <c>#target</c>). Everything is printable ASCII and newlines, so the char-level
/// tokenizer encodes it, and tools count thinking tokens as those between the markers.
/// </summary>
/// <example>
/// <code>
/// &lt;think&gt;
/// 3 7 25 -> 46
/// try 25+7=32
/// 3 32 -> 46
/// try 32+3=35
/// no: 35 != 46
/// ...
/// &lt;/think&gt;
/// 25-7=18
/// ...
/// #46
/// </code>
/// </example>
public static class ThinkingFormat
{
    public const string Open = "<think>";
    public const string Close = "</think>";

    /// <summary>Gold solution lines: the open marker, the thinking lines, the close marker, the answer lines.</summary>
    public static IReadOnlyList<string> Wrap(IEnumerable<string> thinking, IEnumerable<string> answer) =>
        [Open, .. thinking, Close, .. answer];

    /// <summary>
    /// Splits a completion into its thinking (text between the markers, null when it has no <c>&lt;think&gt;</c>) and its
    /// answer (text after <c>&lt;/think&gt;</c>; the whole completion when it has no markers at all; empty when the thinking
    /// section is never closed). <paramref name="closed"/> is false only for an opened and unclosed section.
    /// </summary>
    public static (string? Thinking, string Answer) Split(string completion, out bool closed)
    {
        ArgumentNullException.ThrowIfNull(completion);
        int open = completion.IndexOf(Open, StringComparison.Ordinal);
        int close = completion.IndexOf(Close, StringComparison.Ordinal);
        closed = open < 0 || close > open;
        if (open < 0 && close < 0) return (null, completion);
        int start = open < 0 ? 0 : open + Open.Length;
        if (start < completion.Length && completion[start] == '\n') start++;
        if (!closed) return (completion[start..], "");
        if (close < start) return ("", completion[(close + Close.Length)..].TrimStart('\n'));
        return (completion[start..close], completion[(close + Close.Length)..].TrimStart('\n'));
    }
}
