using Ponder.Scaling;

namespace Ponder.Learning;

/// <summary>Learning-curve PNGs of an RL run's metrics.jsonl: reward, held-out greedy pass@1, KL, entropy, response length against step.</summary>
public static class LearningCurves
{
    /// <summary>Writes one PNG per quantity as <c>{prefix}-{name}.png</c> in <paramref name="dir"/>; returns their paths.</summary>
    public static IReadOnlyList<string> Plot(IReadOnlyDictionary<string, string> runs, string dir, string prefix)
    {
        var quantities = new[] { ("reward", "batch reward"), ("eval_greedy", "held-out greedy pass@1"), ("kl", "KL to start (per token)"),
            ("entropy", "entropy (nats/token)"), ("response_length", "response length (tokens)") };
        var paths = new List<string>();
        foreach (var (key, label) in quantities)
        {
            var series = new List<Series>();
            foreach (var (name, metricsPath) in runs)
            {
                var rows = MetricsLog.Read(metricsPath).Where(r => r.ContainsKey(key)).ToList();
                if (rows.Count == 0) continue;
                series.Add(new Series(name, rows.Select(r => r["step"]!.GetValue<double>()).ToList(), rows.Select(r => r[key]!.GetValue<double>()).ToList()));
            }
            if (series.Count == 0) continue;
            string path = Path.Combine(dir, $"{prefix}-{key.Replace('_', '-')}.png");
            Plots.Lines(path, label, "step", label, series);
            paths.Add(path);
        }
        return paths;
    }
}
