namespace Ponder.Tasks;

/// <summary>
/// Exact countdown solver: depth-first search over pairs and operators, memoized on the sorted multiset of
/// available numbers, deepened one step at a time so the first solution found is a shortest one. The order
/// of the search is fixed, so the solution is deterministic. A multiset "reaches" the target when it
/// contains it.
/// </summary>
internal sealed class CountdownSolver
{
    private readonly long _target;

    // Sorted multiset → the largest number of steps within which it is known not to reach the target.
    private readonly Dictionary<string, int> _failsWithin = new(StringComparer.Ordinal);

    private CountdownSolver(long target) => _target = target;

    /// <summary>A shortest list of steps whose last result is the target; empty when a number already is the target; null when unreachable.</summary>
    public static IReadOnlyList<StepLine>? Shortest(IReadOnlyList<long> numbers, long target)
    {
        var solver = new CountdownSolver(target);
        long[] sorted = [.. numbers.Order()];
        var path = new List<StepLine>();
        for (int depth = 0; depth < Math.Max(1, numbers.Count); depth++)
        {
            if (solver.Search(sorted, depth, path))
            {
                path.Reverse();
                return path;
            }
        }
        return null;
    }

    /// <summary>True when some sequence of valid steps from <paramref name="numbers"/> makes the target (or it is already there).</summary>
    public static bool Reachable(IReadOnlyList<long> numbers, long target) =>
        new CountdownSolver(target).Search([.. numbers.Order()], Math.Max(0, numbers.Count - 1), path: null);

    private bool Search(long[] numbers, int depth, List<StepLine>? path)
    {
        if (Array.IndexOf(numbers, _target) >= 0)
        {
            return true;
        }
        if (depth == 0 || numbers.Length < 2)
        {
            return false;
        }
        string key = string.Join(',', numbers);
        if (_failsWithin.TryGetValue(key, out int failed) && failed >= depth)
        {
            return false;
        }
        for (int i = 0; i < numbers.Length; i++)
        {
            if (i > 0 && numbers[i] == numbers[i - 1])
            {
                continue; // same pairs as the previous i
            }
            for (int j = i + 1; j < numbers.Length; j++)
            {
                if (j > i + 1 && numbers[j] == numbers[j - 1])
                {
                    continue; // same pair as the previous j
                }
                long small = numbers[i], big = numbers[j];
                foreach (char op in CountdownRules.Ops)
                {
                    if (CountdownRules.Combine(big, op, small, out long result) is not null || IsDominated(small, big, result))
                    {
                        continue;
                    }
                    if (Search(Replace(numbers, i, j, result), depth - 1, path))
                    {
                        path?.Add(new StepLine(big, op, small, result));
                        return true;
                    }
                }
            }
        }
        _failsWithin[key] = depth;
        return false;
    }

    // A move whose result equals an operand only drops the other operand (x*1, x-0, 2x-x, ...), and a zero
    // can only drop numbers later; neither helps, since more numbers never make the target harder to reach.
    private bool IsDominated(long small, long big, long result) =>
        result == small || result == big || (result == 0 && _target != 0);

    private static long[] Replace(long[] numbers, int i, int j, long result)
    {
        var next = new long[numbers.Length - 1];
        int k = 0;
        for (int n = 0; n < numbers.Length; n++)
        {
            if (n != i && n != j)
            {
                next[k++] = numbers[n];
            }
        }
        next[k] = result;
        Array.Sort(next);
        return next;
    }
}
