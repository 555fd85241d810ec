namespace Ponder.Tasks;

/// <summary>
/// Draws distinct problems of one split from a task's seeded generator: draw, hash the problem's key (its prompt, or
/// what makes two prompts the same problem, such as countdown's numbers in any order), keep it if it falls on the
/// requested side and its key was not seen before, until enough are found. So no problem is on both sides in another
/// spelling, and none is drawn twice.
/// </summary>
internal static class GeneratedProblems
{
    public static IReadOnlyList<Problem> Draw(
        string task, Split split, int count, int seed, Func<Random, (string Prompt, string Answer, string Key)> draw)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var rng = new Random(seed);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var problems = new List<Problem>(count);
        // Generous: a test problem is 1 draw in 10, so a large space finds `count` in about 10 × count draws.
        long attempts = 10_000L + 100L * count;
        for (long i = 0; i < attempts && problems.Count < count; i++)
        {
            var (prompt, answer, problemKey) = draw(rng);
            ulong hash = StableSplit.Hash(problemKey);
            if (StableSplit.Of(hash) == split && seen.Add(problemKey))
            {
                problems.Add(new Problem(StableSplit.Id(hash), prompt, answer));   // one id for the problem however it is spelled
            }
        }
        if (problems.Count < count)
        {
            throw new ArgumentException(
                $"task '{task}': found only {problems.Count} of {count} distinct {split.ToString().ToLowerInvariant()} problems "
                + $"in {attempts} draws; the problem space is too small");
        }
        return problems;
    }
}
