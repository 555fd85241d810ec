using System.Globalization;
using Ponder.Tasks;

namespace Ponder.Thinking;

/// <summary>
/// The trace language of countdown thinking sections, one line each: a state (<c>3 7 25 -> 46</c>, numbers ascending, then
/// the target, repeated so that a small model checks results against a nearby line rather than the far prompt), a move
/// (<c>try 25+7=32</c>), a dead end (<c>no: 35 != 46</c>), a solution (<c>yes: 46</c>) and a return to an earlier state
/// (<c>back to 3 7 25 -> 46</c>). Moves are generated from a sorted state in a fixed order: pairs (small, big) left to right,
/// operators + - * /, written big op small; moves that break the rules or only drop a number (x*1, x-0, results equal
/// to an operand or zero) are never written.
/// </summary>
internal static class TraceLines
{
    public const string Try = "try ";
    public const string No = "no: ";
    public const string Yes = "yes: ";
    public const string Back = "back to ";

    public const string Arrow = " -> ";

    /// <summary>Separates a state from the moves that led to it (<see cref="TraceOptions.Path"/>).</summary>
    public const string PathMark = " | ";

    /// <summary>A state line; with <paramref name="path"/> (non-empty) the moves that led to the state follow it.</summary>
    public static string State(IEnumerable<long> numbers, long target, IReadOnlyList<StepLine>? path = null) =>
        string.Join(' ', numbers.Select(n => n.ToString(CultureInfo.InvariantCulture))) + Arrow + target.ToString(CultureInfo.InvariantCulture)
        + (path is { Count: > 0 } ? PathMark + string.Join(' ', path) : "");

    public static string Move(StepLine step) => Try + step;

    public static string DeadEnd(long result, long target) => string.Create(CultureInfo.InvariantCulture, $"{No}{result} != {target}");

    public static string Solved(long target) => Yes + target.ToString(CultureInfo.InvariantCulture);

    public static string BackTo(IEnumerable<long> numbers, long target, IReadOnlyList<StepLine>? path = null) => Back + State(numbers, target, path);

    /// <summary>Every move from a state (ascending), in the fixed order, with the state it leads to (ascending).</summary>
    public static IEnumerable<(StepLine Step, long[] Next)> Moves(long[] state)
    {
        for (int i = 0; i < state.Length; i++)
        {
            if (i > 0 && state[i] == state[i - 1]) continue;   // same pairs as the previous i
            for (int j = i + 1; j < state.Length; j++)
            {
                if (j > i + 1 && state[j] == state[j - 1]) continue;   // same pair as the previous j
                long small = state[i], big = state[j];
                foreach (char op in CountdownRules.Ops)
                {
                    if (CountdownRules.Combine(big, op, small, out long result) is not null) continue;
                    if (result == small || result == big || result == 0) continue;
                    yield return (new StepLine(big, op, small, result), Replace(state, i, j, result));
                }
            }
        }
    }

    /// <summary>The state after playing <paramref name="step"/>, or null when its operands are not in the state or its arithmetic is wrong.</summary>
    public static long[]? Play(long[] state, StepLine step)
    {
        int a = Array.IndexOf(state, step.A);
        if (a < 0) return null;
        int b = -1;
        for (int k = 0; k < state.Length && b < 0; k++)
            if (k != a && state[k] == step.B) b = k;
        if (b < 0 || CountdownRules.Combine(step.A, step.Op, step.B, out long value) is not null || value != step.C) return null;
        return Replace(state, a, b, value);
    }

    /// <summary>
    /// Parses a state line <c>n n ... -> T</c> (numbers separated by single spaces); null for anything else. A path after
    /// <see cref="PathMark"/> is not read: the numbers are what the trace's validity is checked on.
    /// <paramref name="rightTarget"/> tells whether T is <paramref name="target"/>.
    /// </summary>
    public static long[]? ParseState(string line, long target, out bool rightTarget)
    {
        rightTarget = false;
        int mark = line.IndexOf(PathMark, StringComparison.Ordinal);
        if (mark >= 0) line = line[..mark];
        int arrow = line.IndexOf(Arrow, StringComparison.Ordinal);
        if (arrow <= 0 || !StepLine.TryParseInteger(line.AsSpan(arrow + Arrow.Length), out long said)) return null;
        var parts = line[..arrow].Split(' ');
        var numbers = new long[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!StepLine.TryParseInteger(parts[i], out numbers[i]) || numbers[i] < 0) return null;
        rightTarget = said == target;
        return numbers;
    }

    /// <summary>Closeness to the target used by best-first search: the smallest |target − n| over the state's numbers.</summary>
    public static long Distance(long[] state, long target) => state.Min(n => Math.Abs(target - n));

    public static bool SameState(long[] a, long[] b) => a.Order().SequenceEqual(b.Order());

    private static long[] Replace(long[] numbers, int i, int j, long result)
    {
        var next = new List<long>(numbers.Length - 1);
        for (int n = 0; n < numbers.Length; n++)
            if (n != i && n != j) next.Add(numbers[n]);
        next.Add(result);
        next.Sort();
        return [.. next];
    }
}
