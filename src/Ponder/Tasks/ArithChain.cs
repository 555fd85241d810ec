using System.Globalization;

namespace Ponder.Tasks;

/// <summary>
/// One arith problem: a start number and operations applied left to right, e.g. <c>347 +128 *3 -219</c>.
/// The prompt is the canonical text; the gold steps are <c>347+128=475</c>, <c>475*3=1425</c>, <c>1425-219=1206</c>.
/// </summary>
internal sealed class ArithChain
{
    private ArithChain(long start, IReadOnlyList<(char Op, long Operand)> ops)
    {
        Start = start;
        Ops = ops;
        var steps = new List<StepLine>(ops.Count);
        long value = start;
        foreach (var (op, operand) in ops)
        {
            long next = op switch
            {
                '+' => value + operand,
                '-' => value - operand,
                _ => value * operand,
            };
            steps.Add(new StepLine(value, op, operand, next));
            value = next;
        }
        Steps = steps;
        Result = value;
    }

    public long Start { get; }

    public IReadOnlyList<(char Op, long Operand)> Ops { get; }

    /// <summary>The gold computation, one step per operation.</summary>
    public IReadOnlyList<StepLine> Steps { get; }

    public long Result { get; }

    /// <summary>Prompt text: start, then each operator glued to its operand, space separated, ending in a newline.</summary>
    public string Prompt =>
        string.Join(' ', Ops.Select(o => string.Create(CultureInfo.InvariantCulture, $"{o.Op}{o.Operand}")).Prepend(
            Start.ToString(CultureInfo.InvariantCulture))) + "\n";

    /// <summary>
    /// Draws a chain. The start is a digits-digit number (no leading zero); + and - take a digits-digit operand,
    /// * a single digit 2..9. Every intermediate stays non-negative: a - drawn while the value is below the
    /// smallest digits-digit number becomes a +, otherwise its operand is at most the current value.
    /// </summary>
    public static ArithChain Draw(Random rng, ArithOptions options)
    {
        int low = (int)Math.Pow(10, options.Digits - 1), high = (int)Math.Pow(10, options.Digits) - 1;
        long value = rng.Next(low, high + 1);
        long start = value;
        var ops = new List<(char, long)>(options.Steps);
        for (int i = 0; i < options.Steps; i++)
        {
            char op = options.Ops[rng.Next(options.Ops.Length)];
            if (op == '-' && value < low)
            {
                op = '+';
            }
            long operand = op switch
            {
                '+' => rng.Next(low, high + 1),
                '-' => rng.Next(low, (int)Math.Min(high, value) + 1),
                _ => rng.Next(2, 10),
            };
            ops.Add((op, operand));
            value = op switch
            {
                '+' => value + operand,
                '-' => value - operand,
                _ => value * operand,
            };
        }
        return new ArithChain(start, ops);
    }

    /// <summary>Reads a chain back from its prompt; <see cref="ArgumentException"/> when the prompt is not one.</summary>
    public static ArithChain Parse(string prompt)
    {
        string[] tokens = prompt.TrimEnd('\n').Split(' ');
        if (!StepLine.TryParseInteger(tokens[0], out long start))
        {
            throw NotAChain(prompt);
        }
        var ops = new List<(char, long)>(tokens.Length - 1);
        foreach (string token in tokens.Skip(1))
        {
            if (token.Length < 2 || token[0] is not ('+' or '-' or '*')
                || !StepLine.TryParseInteger(token.AsSpan(1), out long operand))
            {
                throw NotAChain(prompt);
            }
            ops.Add((token[0], operand));
        }
        return new ArithChain(start, ops);
    }

    private static ArgumentException NotAChain(string prompt) =>
        new($"not an arith problem prompt: '{prompt.TrimEnd('\n')}' (expected a number, then operations each written ' <op><number>', e.g. '347 +128 *3 -219')");
}
