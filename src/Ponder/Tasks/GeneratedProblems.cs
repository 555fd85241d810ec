namespace Ponder.Tasks;

/// <summary>
/// Draws distinct problems of one split from a task's seeded generator: draw, hash the prompt, keep it if
/// it falls on the requested side and was not seen before, until enough are found.
/// </summary>
internal static class GeneratedProblems
{
    public static IReadOnlyList<Problem> Draw(
        string task, Split split, int count, int seed, Func<Random, (string Prompt, string Answer)> draw)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var rng = new Random(seed);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var problems = new List<Problem>(count);
        // Generous: a test problem is 1 draw in 10, so a large space finds `count` in about 10 × count draws.
        long attempts = 10_000L + 100L * count;
        for (long i = 0; i < attempts && problems.Count < count; i++)
        {
            var (prompt, answer) = draw(rng);
            ulong hash = StableSplit.Hash(prompt);
            if (StableSplit.Of(hash) == split && seen.Add(prompt))
            {
                problems.Add(new Problem(StableSplit.Id(hash), prompt, answer));
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
