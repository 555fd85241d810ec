using System.Globalization;

namespace Ponder.Tasks;

/// <summary>One countdown problem: input numbers (in drawn order) and a target, prompt <c>3 7 25 50 -> 100</c>.</summary>
internal sealed record CountdownPuzzle(IReadOnlyList<long> Numbers, long Target)
{
    private const string Arrow = " -> ";

    /// <summary>Redraws allowed before deciding that the options cannot make a target.</summary>
    private const int MaxRedraws = 10_000;

    public string Prompt => string.Join(' ', Numbers.Select(n => n.ToString(CultureInfo.InvariantCulture)))
        + Arrow + Target.ToString(CultureInfo.InvariantCulture) + "\n";

    /// <summary>The puzzle whatever the order of its numbers: the prompt with them sorted (its train/test split key).</summary>
    public string Key => new CountdownPuzzle([.. Numbers.Order()], Target).Prompt;

    /// <summary>
    /// Draws inputs in 1..Max and makes a target by combining all of them with random valid operations
    /// (results non-negative, division exact, intermediates at most 10 × the target bound); keeps it only
    /// when it lies in 10..Target and is not itself an input, else redraws everything.
    /// </summary>
    public static CountdownPuzzle Draw(Random rng, CountdownOptions options)
    {
        long bound = 10L * options.Target;
        for (int attempt = 0; attempt < MaxRedraws; attempt++)
        {
            long[] numbers = new long[options.Numbers];
            for (int i = 0; i < numbers.Length; i++)
            {
                numbers[i] = rng.Next(1, options.Max + 1);
            }
            if (CombineAll(rng, numbers, bound) is long target && target >= 10 && target <= options.Target
                && Array.IndexOf(numbers, target) < 0)
            {
                return new CountdownPuzzle(numbers, target);
            }
        }
        throw new ArgumentException(
            $"task 'countdown': no target in 10..{options.Target} was made from {options.Numbers} numbers in "
            + $"1..{options.Max} in {MaxRedraws} draws");
    }

    /// <summary>Reads a puzzle back from its prompt; <see cref="ArgumentException"/> when the prompt is not one.</summary>
    public static CountdownPuzzle Parse(string prompt)
    {
        string text = prompt.TrimEnd('\n');
        int arrow = text.IndexOf(Arrow, StringComparison.Ordinal);
        string[] tokens = arrow < 0 ? [] : text[..arrow].Split(' ');
        var numbers = new List<long>(tokens.Length);
        foreach (string token in tokens)
        {
            numbers.Add(StepLine.TryParseInteger(token, out long n) ? n : throw NotAPuzzle(prompt));
        }
        if (numbers.Count == 0 || !StepLine.TryParseInteger(text.AsSpan(arrow + Arrow.Length), out long target))
        {
            throw NotAPuzzle(prompt);
        }
        return new CountdownPuzzle(numbers, target);
    }

    private static long? CombineAll(Random rng, long[] numbers, long bound)
    {
        var pool = new List<long>(numbers);
        var moves = new List<(int I, int J, long Result)>();
        while (pool.Count > 1)
        {
            moves.Clear();
            for (int i = 0; i < pool.Count; i++)
            {
                for (int j = 0; j < pool.Count; j++)
                {
                    foreach (char op in CountdownRules.Ops)
                    {
                        if (i != j && CountdownRules.Combine(pool[i], op, pool[j], out long result) is null && result <= bound)
                        {
                            moves.Add((i, j, result));
                        }
                    }
                }
            }
            if (moves.Count == 0)
            {
                return null;
            }
            var (a, b, value) = moves[rng.Next(moves.Count)];
            pool.RemoveAt(Math.Max(a, b));
            pool.RemoveAt(Math.Min(a, b));
            pool.Add(value);
        }
        return pool[0];
    }

    private static ArgumentException NotAPuzzle(string prompt) =>
        new($"not a countdown problem prompt: '{prompt.TrimEnd('\n')}'");
}
