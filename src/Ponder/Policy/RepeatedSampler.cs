namespace Ponder.Policy;

/// <summary>
/// Samples several completions of each prompt in fixed-size batches: the loop behind evaluation, best-of-N labels
/// and expert iteration. Rows are prompt-major (prompt i's samples are rows i·n … i·n + n − 1), cut into chunks of
/// <c>batchSize</c>; chunk c is seeded by <c>Seeds.Mix(seed, c)</c>, so a result depends only on its arguments.
/// </summary>
public static class RepeatedSampler
{
    /// <summary>Per prompt, its <paramref name="perPrompt"/> generations in sampling order.</summary>
    /// <param name="sampled">Called with the number of rows sampled so far after each chunk.</param>
    /// <param name="abandon">
    /// <see cref="SamplingOptions.Abandon"/> by prompt: called with a row's prompt index and its whole lines so far; true
    /// ends the row there.
    /// </param>
    public static List<List<Generation>> Sample(Generator generator, IReadOnlyList<int[]> prompts, int perPrompt,
        SamplingOptions options, int seed, int batchSize, Action<int>? sampled = null, Func<int, string, bool>? abandon = null)
    {
        ArgumentNullException.ThrowIfNull(generator);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(perPrompt);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        var rows = Enumerable.Range(0, prompts.Count).SelectMany(i => Enumerable.Repeat(i, perPrompt)).ToList();
        var result = prompts.Select(_ => new List<Generation>(perPrompt)).ToList();
        int chunkIndex = 0, done = 0;
        foreach (var chunk in rows.Chunk(batchSize))
        {
            var generations = generator.Generate(chunk.Select(i => prompts[i]).ToList(), options with
            {
                Seed = Seeds.Mix(seed, chunkIndex++),
                Abandon = abandon is null ? options.Abandon : (row, lines) => abandon(chunk[row], lines),
            });
            for (int j = 0; j < chunk.Length; j++) result[chunk[j]].Add(generations[j]);
            done += chunk.Length;
            sampled?.Invoke(done);
        }
        return result;
    }
}
