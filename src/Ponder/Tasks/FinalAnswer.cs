using System.Globalization;

namespace Ponder.Tasks;

/// <summary>
/// Final answers in the formats chat models write: <c>#### 42</c> (GSM8K), <c>\boxed{42}</c>, or a last
/// line starting with <c>#</c>. Answers are compared after normalization: as decimals when both parse
/// (<c>42.0</c> = <c>42</c>, <c>1,000</c> = <c>1000</c>, <c>$5</c> = <c>5</c>, <c>72 clips</c> = <c>72</c>), else as exact strings.
/// </summary>
internal static class FinalAnswer
{
    private const NumberStyles Decimal = NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint;

    // A number followed by words without another number ("72 clips", "$18 per hour"): the answer is the number, as
    // lm-eval's GSM8K regex reads it; "5 or 6" and "2 x 36 = 72" are not one number.
    private static readonly System.Text.RegularExpressions.Regex NumberThenWords =
        new(@"^(\\?\$?[-+]?\d[\d,]*(?:\.\d+)?)\s+\p{L}[^\d]*$", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    // LaTeX text inside an answer (\boxed{18\text{ dollars}}): dropped when something is left.
    private static readonly System.Text.RegularExpressions.Regex LatexText =
        new(@"\\(?:text|mathrm|mbox)\{[^{}]*\}", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    private const string Hashes = "####";
    private const string Boxed = "\\boxed{";

    /// <summary>
    /// The normalized final answer of a completion: of the last <c>#### x</c> and the last <c>\boxed{x}</c>, the one
    /// written later (a Markdown heading <c>#### Step 3</c> before a boxed answer is not the answer), else the last line
    /// starting with '#'; null when none is found.
    /// </summary>
    public static string? Extract(string text)
    {
        var (hashes, boxed) = (LastHashes(text), LastBoxed(text));
        // A "####" heading (a letter after it: "#### Verification") is not the answer when a boxed one is there.
        if (hashes is { } heading && boxed is not null && char.IsLetter(heading.Answer[0])) hashes = null;
        string? found = hashes is { } h && (boxed is not { } b || h.At > b.At) ? h.Answer : boxed?.Answer ?? LastHashLine(text);
        return found is null ? null : Normalize(found) is { Length: > 0 } answer ? answer : null;
    }

    /// <summary>
    /// The form under which equal answers vote together: a number written without trailing zeros (<c>18.00</c> →
    /// <c>18</c>), other text as it is. <paramref name="normalized"/> as <see cref="Normalize"/> returns it.
    /// </summary>
    public static string Canonical(string normalized) =>
        decimal.TryParse(normalized, Decimal, CultureInfo.InvariantCulture, out decimal x)
            ? x.ToString("0.############################", CultureInfo.InvariantCulture)
            : normalized;

    /// <summary>The reference answer in a GSM8K answer text: after the last <c>####</c>, or the whole text when there is none.</summary>
    public static string Reference(string answerText) =>
        Normalize(answerText.Contains(Hashes, StringComparison.Ordinal) ? LastHashes(answerText)?.Answer ?? "" : answerText);

    /// <summary>
    /// A number followed by words (a space, then a letter, and no other digit) is the number; LaTeX text (<c>\text{…}</c>)
    /// is dropped and a Unicode minus read as '-'; then whitespace and commas are stripped, a leading '$' (or LaTeX's
    /// <c>\$</c>, or a pair of math '$'), a trailing '%' (or <c>\%</c>) and a trailing '.'.
    /// </summary>
    public static string Normalize(string answer)
    {
        string trimmed = answer.Trim().Replace('\u2212', '-');               // a Unicode minus sign
        if (LatexText.Replace(trimmed, "").Trim() is { Length: > 0 } bare) trimmed = bare;
        if (NumberThenWords.Match(trimmed) is { Success: true } number) trimmed = number.Groups[1].Value;
        string text = new([.. trimmed.Where(ch => !char.IsWhiteSpace(ch) && ch != ',')]);
        if (text.StartsWith("\\$", StringComparison.Ordinal)) text = text[2..];
        else if (text.StartsWith('$')) text = text.Length > 1 && text.EndsWith('$') ? text[1..^1] : text[1..];   // $18$ (LaTeX math) too
        if (text.EndsWith("\\%", StringComparison.Ordinal)) text = text[..^2];
        else if (text.EndsWith('%')) text = text[..^1];
        return text.EndsWith('.') ? text[..^1] : text;
    }

    /// <summary>Equal as decimals when both parse, else as exact strings; both sides normalized first.</summary>
    public static bool Matches(string answer, string reference)
    {
        string a = Normalize(answer), b = Normalize(reference);
        return decimal.TryParse(a, Decimal, CultureInfo.InvariantCulture, out decimal x)
            && decimal.TryParse(b, Decimal, CultureInfo.InvariantCulture, out decimal y)
            ? x == y
            : string.Equals(a, b, StringComparison.Ordinal);
    }

    // The text after the last "####" (to the end of its line) and where that "####" is; null when there is none or it is empty.
    private static (string Answer, int At)? LastHashes(string text)
    {
        int at = text.LastIndexOf(Hashes, StringComparison.Ordinal);
        if (at < 0)
        {
            return null;
        }
        int start = at + Hashes.Length;
        int end = text.IndexOf('\n', start);
        string answer = (end < 0 ? text[start..] : text[start..end]).Trim();
        return answer.Length > 0 ? (answer, at) : null;
    }

    // The content of the last closed \boxed{…} and where it starts; null when there is none.
    private static (string Answer, int At)? LastBoxed(string text)
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
                return (text[start..i].Trim(), at);
            }
        }
        return null; // unclosed
    }

    private static string? LastHashLine(string text) =>
        text.Split('\n').Select(line => line.Trim()).LastOrDefault(line => line.StartsWith('#'))?.TrimStart('#').Trim();
}
