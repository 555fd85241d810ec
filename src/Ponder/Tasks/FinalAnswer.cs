using System.Globalization;

namespace Ponder.Tasks;

/// <summary>
/// Final answers in the formats chat models write: <c>#### 42</c> (GSM8K), <c>\boxed{42}</c>, or a last
/// line starting with <c>#</c>. Answers are compared after normalization: as decimals when both parse
/// (<c>42.0</c> = <c>42</c>, <c>1,000</c> = <c>1000</c>, <c>$5</c> = <c>5</c>), else as exact strings.
/// </summary>
internal static class FinalAnswer
{
    private const string Hashes = "####";
    private const string Boxed = "\\boxed{";

    /// <summary>The normalized final answer of a completion: the last <c>#### x</c>, else the last <c>\boxed{x}</c>, else the last line starting with '#'; null when none is found.</summary>
    public static string? Extract(string text)
    {
        string? found = LastHashes(text) ?? LastBoxed(text) ?? LastHashLine(text);
        return found is null ? null : Normalize(found) is { Length: > 0 } answer ? answer : null;
    }

    /// <summary>The reference answer in a GSM8K answer text: after the last <c>####</c>, or the whole text when there is none.</summary>
    public static string Reference(string answerText) =>
        Normalize(answerText.Contains(Hashes, StringComparison.Ordinal) ? LastHashes(answerText) ?? "" : answerText);

    /// <summary>Strips whitespace and commas, then a leading '$' and a trailing '.'.</summary>
    public static string Normalize(string answer)
    {
        string text = new([.. answer.Where(ch => !char.IsWhiteSpace(ch) && ch != ',')]);
        if (text.StartsWith('$'))
        {
            text = text[1..];
        }
        return text.EndsWith('.') ? text[..^1] : text;
    }

    /// <summary>Equal as decimals when both parse, else as exact strings; both sides normalized first.</summary>
    public static bool Matches(string answer, string reference)
    {
        string a = Normalize(answer), b = Normalize(reference);
        const NumberStyles Style = NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint;
        return decimal.TryParse(a, Style, CultureInfo.InvariantCulture, out decimal x)
            && decimal.TryParse(b, Style, CultureInfo.InvariantCulture, out decimal y)
            ? x == y
            : string.Equals(a, b, StringComparison.Ordinal);
    }

    private static string? LastHashes(string text)
    {
        int at = text.LastIndexOf(Hashes, StringComparison.Ordinal);
        if (at < 0)
        {
            return null;
        }
        int start = at + Hashes.Length;
        int end = text.IndexOf('\n', start);
        string answer = (end < 0 ? text[start..] : text[start..end]).Trim();
        return answer.Length > 0 ? answer : null;
    }

    private static string? LastBoxed(string text)
    {
        int at = text.LastIndexOf(Boxed, StringComparison.Ordinal);
        if (at < 0)
        {
            return null;
        }
        int start = at + Boxed.Length, depth = 1;
        for (int i = start; i < text.Length; i++)
        {
            depth += text[i] switch { '{' => 1, '}' => -1, _ => 0 };
            if (depth == 0)
            {
                return text[start..i].Trim();
            }
        }
        return null; // unclosed
    }

    private static string? LastHashLine(string text) =>
        text.Split('\n').Select(line => line.Trim()).LastOrDefault(line => line.StartsWith('#'))?.TrimStart('#').Trim();
}
