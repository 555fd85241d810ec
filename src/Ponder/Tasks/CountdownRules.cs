namespace Ponder.Tasks;

/// <summary>
/// The arithmetic allowed in countdown: + - * / on integers, every result a non-negative integer,
/// division exact and by a non-zero divisor, nothing that overflows a long.
/// </summary>
internal static class CountdownRules
{
    public static readonly char[] Ops = ['+', '-', '*', '/'];

    /// <summary>Why <c>a op b</c> breaks the rules, or null with its value in <paramref name="result"/>.</summary>
    public static string? Combine(long a, char op, long b, out long result)
    {
        result = 0;
        try
        {
            switch (op)
            {
                case '+':
                    result = checked(a + b);
                    break;
                case '-':
                    result = checked(a - b);
                    break;
                case '*':
                    result = checked(a * b);
                    break;
                case '/' when b == 0:
                    return $"{a}/{b} divides by zero";
                case '/' when a % b != 0:
                    return $"{a}/{b} is not an integer";
                case '/':
                    result = a / b;
                    break;
                default:
                    return $"'{op}' is not an operator";
            }
        }
        catch (OverflowException)
        {
            return $"{a}{op}{b} overflows";
        }
        return result < 0 ? $"{a}{op}{b} is negative" : null;
    }
}
