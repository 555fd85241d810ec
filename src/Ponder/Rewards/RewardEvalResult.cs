using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Ponder.Scaling;

namespace Ponder.Rewards;

/// <summary>
/// Figures of one reward-model evaluation: step quality against gold labels for each model, and best-of-N
/// selection accuracy of every selector on the same samples. Selector keys: <c>oracle</c>, <c>majority</c>,
/// <c>orm_max</c>, <c>orm_weighted</c>, <c>prm_&lt;aggregation&gt;_max</c>, <c>prm_&lt;aggregation&gt;_weighted</c>
/// (max: the top-scored sample's answer; weighted: the answer with the largest total score).
/// </summary>
public sealed record RewardEvalResult(string Task, int Count, int Samples, double Temperature, int Seed, Aggregation Headline,
    double SampleAccuracy, StepQuality? Prm, StepQuality? Orm, IReadOnlyDictionary<string, double> Selection,
    long SampledTokens, long RewardTokens, double RewardFlops, double Seconds)
{
    /// <summary>Selector key of a PRM aggregation, e.g. <c>prm_min_weighted</c>.</summary>
    public static string PrmKey(Aggregation how, bool weighted) => $"prm_{how.ToString().ToLowerInvariant()}_{(weighted ? "weighted" : "max")}";

    /// <summary>Flat keys for summaries: <c>prm_step_auc</c>, <c>bo16_prm</c> (PRM-weighted vote, headline aggregation), <c>maj16</c>, …</summary>
    public JsonObject ToJson()
    {
        string n = Samples.ToString(CultureInfo.InvariantCulture);
        var json = new JsonObject
        {
            ["rm_eval_task"] = Task, ["rm_eval_count"] = Count, ["rm_eval_samples"] = Samples, ["rm_eval_seed"] = Seed,
            ["rm_eval_sample_accuracy"] = Round(SampleAccuracy),
        };
        foreach (var (name, q) in new[] { ("prm", Prm), ("orm", Orm) })
        {
            if (q is null) continue;
            json[$"{name}_step_auc"] = Round(q.Auc);
            json[$"{name}_ece"] = Round(q.Ece);
            json[$"{name}_first_error_f1"] = Round(q.FirstErrorF1);
            json[$"{name}_first_error_acc"] = Round(q.FirstErrorAccuracy);
            json[$"{name}_no_error_acc"] = Round(q.NoErrorAccuracy);
        }
        if (Selection.TryGetValue(PrmKey(Headline, weighted: true), out double w)) json[$"bo{n}_prm"] = Round(w);
        if (Selection.TryGetValue(PrmKey(Headline, weighted: false), out double m)) json[$"bo{n}_prm_max"] = Round(m);
        if (Selection.TryGetValue("orm_max", out double orm)) json[$"bo{n}_orm"] = Round(orm);
        json[$"maj{n}"] = Round(Selection["majority"]);
        json[$"bo{n}_oracle"] = Round(Selection["oracle"]);
        foreach (var (key, value) in Selection) json[$"select_{key}"] = Round(value);
        json["rm_eval_sampled_tokens"] = SampledTokens;
        json["rm_eval_rm_tokens"] = RewardTokens;
        json["rm_eval_rm_flops"] = RewardFlops;
        json["rm_eval_seconds"] = Math.Round(Seconds, 1);
        return json;
    }

    /// <summary>
    /// A Markdown section (heading level 2) with both tables; <paramref name="preface"/> (e.g. how the models were
    /// trained) goes right under the heading, and <paramref name="reliabilityPng"/> is linked when given.
    /// </summary>
    public string ToMarkdown(string? reliabilityPng = null, string? preface = null)
    {
        var md = new StringBuilder();
        md.AppendLine("## Reward models").AppendLine();
        if (preface is not null) md.AppendLine(preface).AppendLine();
        md.AppendLine($"{Count} held-out `{Task}` problems, {Samples} samples each at temperature {Temperature} (seed {Seed}); " +
            $"{SampleAccuracy:P1} of samples are correct. Step labels for measurement are gold (the task's step checker).").AppendLine();
        if (Prm is not null || Orm is not null)
        {
            md.AppendLine("| model | steps | step AUC | ECE | first-error acc. | no-error acc. | first-error F1 |").AppendLine("|---|---|---|---|---|---|---|");
            foreach (var (name, q) in new[] { ("PRM", Prm), ("ORM (read after each step)", Orm) })
                if (q is not null)
                    md.AppendLine($"| {name} | {q.Steps} | {q.Auc:F3} | {q.Ece:F3} | {q.FirstErrorAccuracy:P1} | {q.NoErrorAccuracy:P1} | {q.FirstErrorF1:F3} |");
            md.AppendLine().AppendLine($"First error = the first step scored below {(Prm ?? Orm)!.Threshold} (a fixed threshold, not tuned on these samples).").AppendLine();
            if (reliabilityPng is not null) md.AppendLine($"![reliability diagram]({reliabilityPng})").AppendLine();
        }
        md.AppendLine($"Best-of-{Samples} selection on the same samples (accuracy of the chosen answer):").AppendLine();
        md.AppendLine("| selector | accuracy |").AppendLine("|---|---|");
        foreach (var (key, value) in Selection) md.AppendLine($"| {Describe(key)} | {value:P1} |");
        md.AppendLine().AppendLine($"Headline PRM aggregation: {Headline} (chosen before measuring). Reward-model compute: {RewardTokens:N0} tokens, {RewardFlops:G3} FLOPs.");
        return md.ToString();
    }

    /// <summary>Reliability diagram PNG: observed frequency of correct steps against predicted probability, per model.</summary>
    public void PlotReliability(string path)
    {
        var series = new List<Series> { new("perfect calibration", [0.0, 1.0], [0.0, 1.0]) };
        foreach (var (name, q) in new[] { ("PRM", Prm), ("ORM", Orm) })
        {
            if (q is null) continue;
            var bins = q.Reliability.Where(b => b.Count > 0).ToList();
            series.Add(new Series($"{name} (ECE {q.Ece:F3})", bins.Select(b => b.MeanPredicted).ToList(), bins.Select(b => b.Observed).ToList()));
        }
        Plots.Lines(path, $"Reward-model calibration on held-out {Task} steps", "predicted P(step prefix correct)", "observed frequency (gold)", series);
    }

    static string Describe(string key) => key switch
    {
        "oracle" => "oracle verifier (pass@N)",
        "majority" => "majority vote",
        "orm_max" => "ORM, best score",
        "orm_weighted" => "ORM-weighted vote",
        _ when key.EndsWith("_weighted", StringComparison.Ordinal) => $"PRM-weighted vote ({key.Split('_')[1]})",
        _ => $"PRM, best score ({key.Split('_')[1]})",
    };

    /// <summary>Rounded to 4 places; NaN (e.g. AUC with one class only) becomes JSON null.</summary>
    static JsonNode? Round(double x) => JsonText.Round(x);
}
