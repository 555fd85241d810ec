using System.Text.Json;
using System.Text.Json.Serialization;

namespace Ponder.Rewards;

/// <summary>
/// Label files as JSON lines: a <see cref="LabelHeader"/> line, then one <see cref="LabeledSolution"/> a line.
/// A file is reused only for the same task, policy and settings; a mismatched, empty or truncated file is a
/// one-line error naming it, and is never overwritten (delete it or name another file to relabel).
/// </summary>
public static class LabelCache
{
    static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    /// <summary>The labels in <paramref name="path"/> when it exists (checked against <paramref name="request"/>), else made by <paramref name="make"/> and written there.</summary>
    public static (LabelSet Labels, bool Reused) LoadOrCreate(string path, LabelRequest request, Func<LabelSet> make)
    {
        if (File.Exists(path)) return (Read(path, request), true);
        var labels = make();
        Write(path, labels);
        return (labels, false);
    }

    /// <summary>Writes the file whole to a temporary sibling, then renames it into place.</summary>
    public static void Write(string path, LabelSet labels)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        AtomicFile.WriteLines(path, [JsonSerializer.Serialize(labels.Header with { Count = labels.Solutions.Count }, Json),
            .. labels.Solutions.Select(s => JsonSerializer.Serialize(s, Json))]);
    }

    /// <summary>Reads and checks a label file; <see cref="InvalidDataException"/> says what is wrong with it.</summary>
    public static LabelSet Read(string path, LabelRequest? request = null)
    {
        var lines = File.ReadAllLines(path);
        if (lines.Length == 0 || lines.All(string.IsNullOrWhiteSpace)) throw Bad(path, "empty label file");
        var header = Parse<LabelHeader>(path, lines[0], 1);
        if (header?.Format != LabelHeader.CurrentFormat) throw Bad(path, $"not a label file (first line has no \"format\": \"{LabelHeader.CurrentFormat}\")");
        if (header.Count < 0) throw Bad(path, $"the header's count {header.Count} is negative");
        if (request is not null) Check(path, header, request);
        var solutions = new List<LabeledSolution>(header.Count);
        for (int i = 1; i < lines.Length; i++)
        {
            if (lines[i].Length == 0) continue;
            var s = Parse<LabeledSolution>(path, lines[i], i + 1);
            if (s?.Problem?.Prompt is null || s.Problem.Answer is null || s.Steps is null || s.Labels is null)
                throw Bad(path, $"line {i + 1} is not a labelled solution (truncated?)");
            if (s.Steps.Count != s.Labels.Count)
                throw Bad(path, $"line {i + 1} has {s.Steps.Count} steps but {s.Labels.Count} labels");
            foreach (double label in s.Labels)
                if (!(label >= 0 && label <= 1))
                    throw Bad(path, $"line {i + 1}: label {label.ToString(System.Globalization.CultureInfo.InvariantCulture)} is outside 0..1");
            solutions.Add(s);
        }
        if (solutions.Count != header.Count) throw Bad(path, $"truncated: the header promises {header.Count} solutions, the file holds {solutions.Count}");
        return new LabelSet(header, solutions);
    }

    static void Check(string path, LabelHeader h, LabelRequest r)
    {
        string hint = "; delete it or pass another --label-cache";
        if (h.Task != r.Task && r.Task.StartsWith(h.Task + " sha256:", StringComparison.Ordinal))
            throw Bad(path, $"labels name task '{h.Task}' without the content of its files, which the task is named by now ('{r.Task}'): they may be of an earlier version of them{hint}");
        if (h.Task != r.Task) throw Bad(path, $"labels are for task '{h.Task}', not '{r.Task}'{hint}");
        if (h.Split is null && r.Task.Contains("countdown", StringComparison.Ordinal))
            throw Bad(path, $"labels were drawn before countdown puzzles were split whatever the order of their numbers (some of their problems are held-out ones now){hint}");
        if (h.Policy != r.Policy) throw Bad(path, $"labels were made by policy {h.Policy}, not the given policy {r.Policy}{hint}");
        if (h.Source != r.Source) throw Bad(path, $"labels are {h.Source} labels, not {r.Source}{hint}");
        if ((r.K is { } k && h.K != k) || h.Seed != r.Seed || h.Problems != r.Problems || h.Samples != r.Samples)
            throw Bad(path, $"labels were made with k={h.K}, seed {h.Seed}, {h.Problems} problems × {h.Samples} samples; " +
                $"this run asks for k={r.K?.ToString() ?? "any"}, seed {r.Seed}, {r.Problems} problems × {r.Samples} samples{hint}");
        var (temperature, maxSteps) = (h.Temperature ?? 1.0, h.MaxSteps ?? 16);
        if (temperature != r.Temperature || maxSteps != r.MaxSteps)
            throw Bad(path, $"labels were sampled at temperature {Number(temperature)} with at most {maxSteps} steps; " +
                $"this run asks for temperature {Number(r.Temperature)} with at most {r.MaxSteps}{hint}");
    }

    static string Number(double x) => x.ToString(System.Globalization.CultureInfo.InvariantCulture);

    static T? Parse<T>(string path, string line, int number)
    {
        try { return JsonSerializer.Deserialize<T>(line, Json); }
        catch (JsonException) { throw Bad(path, $"line {number} is not valid JSON (truncated?)"); }
    }

    static InvalidDataException Bad(string path, string problem) => new($"{path}: {problem}");
}
