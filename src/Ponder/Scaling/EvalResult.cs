using System.Text.Json.Nodes;

namespace Ponder.Scaling;

/// <summary>Figures of one evaluation. <see cref="ToJson"/> uses the keys scripts read: greedy, pass@1, pass@k, maj@k.</summary>
public sealed record EvalResult(
    string Task, int Count, int Samples, double Temperature, int Seed,
    double Greedy, double GreedyWellFormed,
    IReadOnlyDictionary<int, double> PassAt, IReadOnlyDictionary<int, double> MajorityAt,
    long GeneratedTokens, double Seconds, double MeanSampleTokens = 0)
{
    /// <summary>1, 2, 4, … up to the sample count (and the sample count itself).</summary>
    public static IReadOnlyList<int> Ks(int samples)
    {
        var ks = new List<int>();
        for (int k = 1; k <= samples; k *= 2) ks.Add(k);
        if (samples > 0 && ks[^1] != samples) ks.Add(samples);
        return ks;
    }

    public JsonObject ToJson()
    {
        var json = new JsonObject
        {
            ["task"] = Task, ["count"] = Count, ["samples"] = Samples, ["temperature"] = Temperature, ["seed"] = Seed,
            ["greedy"] = Greedy, ["greedy_well_formed"] = GreedyWellFormed,
        };
        foreach (var (k, v) in PassAt) json[$"pass@{k}"] = v;
        foreach (var (k, v) in MajorityAt) json[$"maj@{k}"] = v;
        json["mean_sample_tokens"] = Math.Round(MeanSampleTokens, 2);
        json["generated_tokens"] = GeneratedTokens;
        json["seconds"] = Math.Round(Seconds, 2);
        json["tokens_per_s"] = Math.Round(GeneratedTokens / Math.Max(1e-9, Seconds));
        return json;
    }

    /// <summary>A Markdown table of the figures.</summary>
    public string ToMarkdown()
    {
        var lines = new List<string> { "| metric | value |", "|---|---|", $"| greedy | {Greedy:P1} |" };
        foreach (var (k, v) in PassAt) lines.Add($"| pass@{k} | {v:P1} |");
        foreach (var (k, v) in MajorityAt) lines.Add($"| maj@{k} | {v:P1} |");
        return string.Join("\n", lines);
    }
}
