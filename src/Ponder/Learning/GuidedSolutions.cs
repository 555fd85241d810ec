using System.Text.Json;
using System.Text.Json.Nodes;
using Ponder.Tasks;

namespace Ponder.Learning;

/// <summary>
/// The solutions that RL's guided groups found (<see cref="RlOptions.MaxSamples"/>), or every verified one
/// (<see cref="RlOptions.SftPool"/>), one JSON line each in the run's folder (step, problem id, prompt, completion): the
/// pool the supervised steps replay (<see cref="RlOptions.SftSteps"/>). A completion is kept as its lines up to the final
/// answer, as expert iteration keeps solutions, and a problem's same solution only once. On resume the lines of steps
/// after the checkpoint are dropped, so the pool is the one the checkpoint's run had.
/// </summary>
public sealed class GuidedSolutions
{
    public const string File = "guided.jsonl";
    readonly string path;
    readonly bool enabled;
    readonly List<(string Prompt, string Completion)> pool = [];
    readonly HashSet<(string Prompt, string Completion)> seen = [];

    /// <param name="resumeStep">The checkpoint's step when resuming (the file is read and cut there); null starts a new file.</param>
    public GuidedSolutions(string path, bool enabled, long? resumeStep)
    {
        this.path = path;
        this.enabled = enabled;
        if (!enabled) return;
        var kept = new List<string>();
        if (resumeStep is { } last && System.IO.File.Exists(path))
        {
            int number = 0;
            foreach (var line in System.IO.File.ReadLines(path))
            {
                number++;
                if (line.Length == 0) continue;
                JsonNode? row;
                try { row = JsonNode.Parse(line); }
                catch (JsonException e) { throw new InvalidDataException($"{path}:{number}: not a JSON line ({e.Message})"); }
                if (row?["step"]?.GetValue<long>() is not { } step || row["prompt"]?.GetValue<string>() is not { } prompt
                    || row["completion"]?.GetValue<string>() is not { } completion)
                    throw new InvalidDataException($"{path}:{number}: needs 'step', 'prompt' and 'completion'");
                if (step > last) continue;
                kept.Add(line);
                pool.Add((prompt, completion));
                seen.Add((prompt, completion));
            }
        }
        System.IO.File.WriteAllLines(path, kept);
    }

    public int Count => pool.Count;

    /// <summary>Adds this step's solutions to the pool and the file.</summary>
    public void Add(long step, IEnumerable<(Problem Problem, string Completion)> solutions)
    {
        if (!enabled) return;
        var lines = new List<string>();
        foreach (var (problem, completion) in solutions)
        {
            string canonical = Solution.Join(Solution.LinesToFinal(completion));
            if (!seen.Add((problem.Prompt, canonical))) continue;
            pool.Add((problem.Prompt, canonical));
            lines.Add(new JsonObject { ["step"] = step, ["id"] = problem.Id, ["prompt"] = problem.Prompt, ["completion"] = canonical }.ToJsonString());
        }
        if (lines.Count > 0) System.IO.File.AppendAllLines(path, lines);
    }

    /// <summary><paramref name="count"/> solutions drawn uniformly with replacement (none while the pool is empty).</summary>
    public IReadOnlyList<(string Prompt, string Completion)> Draw(int count, int seed)
    {
        if (pool.Count == 0) return [];
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => pool[rng.Next(pool.Count)]).ToList();
    }
}
