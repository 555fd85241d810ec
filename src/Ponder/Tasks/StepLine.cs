using System.Globalization;

namespace Ponder.Tasks;

/// <summary>
/// One step line <c>a op b=c</c> of the built-in step format: integers with an optional leading '-',
/// op one of <c>+ - * /</c>, no spaces. Equality is numeric, so <c>3+04=7</c> equals <c>3+4=7</c>.
/// </summary>
internal readonly record struct StepLine(long A, char Op, long B, long C)
{
    /// <summary>Parses a step line; false (never an exception) for any other text, including numbers that overflow a long.</summary>
    public static bool TryParse(string line, out StepLine step)
    {
        step = default;
        int eq = line.IndexOf('=');
        if (eq < 0)
        {
            return false;
        }
        ReadOnlySpan<char> left = line.AsSpan(0, eq);
        int op = left.Length > 0 && left[0] == '-' ? 1 : 0;
        while (op < left.Length && char.IsAsciiDigit(left[op]))
        {
            op++;
        }
        if (op >= left.Length || !IsOperator(left[op])
            || !TryParseInteger(left[..op], out long a)
            || !TryParseInteger(left[(op + 1)..], out long b)
            || !TryParseInteger(line.AsSpan(eq + 1), out long c))
        {
            return false;
        }
        step = new StepLine(a, left[op], b, c);
        return true;
    }

    /// <summary>Parses <c>-?[0-9]+</c> exactly (no spaces, no '+', no separators); false when it overflows a long.</summary>
    public static bool TryParseInteger(ReadOnlySpan<char> text, out long value)
    {
        value = 0;
        int start = text.Length > 0 && text[0] == '-' ? 1 : 0;
        if (text.Length == start)
        {
            return false;
        }
        foreach (char ch in text[start..])
        {
            if (!char.IsAsciiDigit(ch))
            {
                return false;
            }
        }
        return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
    }

    public static bool IsOperator(char ch) => ch is '+' or '-' or '*' or '/';

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{A}{Op}{B}={C}");
}
