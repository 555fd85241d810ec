using Ponder.Tasks;

namespace Ponder.Learning;

/// <summary>
/// The solutions that RL's guided groups found (<see cref="RlOptions.MaxSamples"/>), every verified one, or the start
/// policy's sampled before RL (<see cref="RlOptions.SftPool"/>): the pool the supervised steps replay (<see cref="RlOptions.SftSteps"/>). Kept in
/// the run's folder in expert iteration's format (<see cref="VerifiedSolutions"/>, the RL step as its round), each
/// completion as its lines up to the final answer and a problem's same solution only once. On resume the lines of steps
/// after the checkpoint are dropped, so the pool is the one the checkpoint's run had.
/// </summary>
public sealed class GuidedSolutions
{
    public const string File = "guided.jsonl";
    readonly string path;
    readonly VerifiedSolutions? pool;

    /// <param name="resumeStep">The checkpoint's step when resuming (the file is read and cut there); null starts a new file.</param>
    public GuidedSolutions(string path, bool enabled, long? resumeStep)
    {
        this.path = path;
        if (!enabled) return;
        pool = resumeStep is { } last ? VerifiedSolutions.Load(path, beforeRound: checked((int)last + 1)) : new VerifiedSolutions();
        pool.Save(path);
    }

    public int Count => pool?.Count ?? 0;

    /// <summary>Adds this step's solutions to the pool and the file.</summary>
    public void Add(long step, IEnumerable<(string Prompt, string Completion)> solutions)
    {
        if (pool is null) return;
        foreach (var (prompt, completion) in solutions)
            pool.AddAndAppend(path, prompt, RejectionSampling.Canonical(completion), checked((int)step));
    }

    /// <summary>Each prompt's first solution in the pool (the start pool keeps one a problem).</summary>
    public IReadOnlyDictionary<string, string> ByPrompt()
    {
        var map = new Dictionary<string, string>();
        for (int i = 0; i < Count; i++) map.TryAdd(pool![i].Prompt, pool[i].Completion);
        return map;
    }

    /// <summary><paramref name="count"/> solutions drawn uniformly with replacement (none while the pool is empty).</summary>
    public IReadOnlyList<(string Prompt, string Completion)> Draw(int count, int seed)
    {
        if (Count == 0) return [];
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => pool![rng.Next(pool.Count)]).ToList();
    }
}
