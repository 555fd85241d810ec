using System.Text.Json;
using System.Text.Json.Nodes;

namespace Ponder.Learning;

/// <summary>
/// Verified-correct (prompt, completion) pairs gathered over expert-iteration rounds, deduplicated, in
/// the order first found; saved as JSONL (one <c>{"round", "prompt", "completion"}</c> a line) so a
/// resumed run trains on the same set.
/// </summary>
public sealed class VerifiedSolutions
{
    public const string FileName = "solutions.jsonl";
    readonly List<(string Prompt, string Completion, int Round)> items = [];
    readonly HashSet<(string, string)> seen = [];

    public int Count => items.Count;
    public IReadOnlyList<(string Prompt, string Completion)> Pairs => items.Select(x => (x.Prompt, x.Completion)).ToList();

    /// <summary>Adds the pair unless already present; returns whether it was new.</summary>
    public bool Add(string prompt, string completion, int round)
    {
        if (!seen.Add((prompt, completion))) return false;
        items.Add((prompt, completion, round));
        return true;
    }

    /// <summary>The pair found <paramref name="index"/>-th.</summary>
    public (string Prompt, string Completion) this[int index] => (items[index].Prompt, items[index].Completion);

    /// <summary>Adds the pair unless already present and, if new, appends its line to <paramref name="path"/>; returns whether it was new.</summary>
    public bool AddAndAppend(string path, string prompt, string completion, int round)
    {
        if (!Add(prompt, completion, round)) return false;
        File.AppendAllLines(path, [Line(prompt, completion, round)]);
        return true;
    }

    /// <summary>Writes every pair to <paramref name="path"/> through a sibling file, so a run stopped while saving keeps the previous file whole.</summary>
    public void Save(string path) => AtomicFile.WriteLines(path, items.Select(x => Line(x.Prompt, x.Completion, x.Round)));

    static string Line(string prompt, string completion, int round) =>
        new JsonObject { ["round"] = round, ["prompt"] = prompt, ["completion"] = completion }.ToJsonString();

    /// <summary>Reads the pairs found before round <paramref name="beforeRound"/> from <paramref name="path"/> (empty if absent).</summary>
    public static VerifiedSolutions Load(string path, int beforeRound)
    {
        var set = new VerifiedSolutions();
        if (!File.Exists(path)) return set;
        int line = 0;
        foreach (var text in File.ReadLines(path))
        {
            line++;
            if (text.Length == 0) continue;
            try
            {
                var node = JsonNode.Parse(text) as JsonObject
                    ?? throw new InvalidDataException($"{path}:{line}: expected a JSON object");
                int round = node["round"]!.GetValue<int>();
                if (round < beforeRound) set.Add(node["prompt"]!.GetValue<string>(), node["completion"]!.GetValue<string>(), round);
            }
            catch (Exception e) when (e is NullReferenceException or InvalidOperationException or JsonException)
            {
                throw new InvalidDataException($"{path}:{line}: expected a JSON object with \"round\", \"prompt\" and \"completion\"");
            }
        }
        return set;
    }
}
