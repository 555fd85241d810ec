using System.Globalization;
using Ponder.Scaling;
using Ponder.Search;

namespace Ponder.Serving;

/// <summary>
/// Reads what a compute-optimal effort plan chooses among from a <c>ponder scale</c> run's <c>scaling.csv</c>: its
/// validation rows averaged per (arm, N) over seeds, as <see cref="ComputeOptimalPlan.From"/> builds the plan in the
/// run itself, each arm with the settings <see cref="SweepArm.Defaults"/> gives it. Test rows are never read.
/// </summary>
public static class ComputePlanFile
{
    private static readonly string[] Columns = ["split", "arm", "strategy", "n", "seed", "problems", "correct", "accuracy", "flops_per_problem", "tokens_per_problem"];

    /// <summary>The plan; <see cref="InvalidDataException"/> naming the file and line for anything it cannot read.</summary>
    public static IReadOnlyList<PlanEntry> Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Directory.Exists(path)) throw new InvalidDataException($"{path}: is a folder, not a scaling.csv");
        if (!File.Exists(path)) throw new InvalidDataException($"{path}: file not found");
        string[] lines = File.ReadAllLines(path);
        if (lines.Length == 0 || !lines[0].Split(',').Take(Columns.Length).SequenceEqual(Columns))
            throw new InvalidDataException($"{path}: not a scaling.csv (the header must start with {string.Join(",", Columns)})");
        var arms = SweepArm.Defaults(prm: true, orm: true, verifier: true, reviser: true).ToDictionary(a => a.Name);
        var rows = new List<(string Arm, int N, double Accuracy, double Flops, double Tokens)>();
        for (int i = 1; i < lines.Length; i++)
        {
            if (lines[i].Length == 0) continue;
            string[] f = lines[i].Split(',');
            if (f.Length < Columns.Length) throw new InvalidDataException($"{path}:{i + 1}: expected {Columns.Length} or more fields, got {f.Length}");
            if (f[0] != "validation") continue;
            if (!arms.ContainsKey(f[1])) throw new InvalidDataException($"{path}:{i + 1}: unknown arm '{f[1]}' (known: {string.Join(", ", arms.Keys)})");
            double n = Number(path, i, "n", f[3]), accuracy = Number(path, i, "accuracy", f[7]);
            double flops = Number(path, i, "flops_per_problem", f[8]), tokens = Number(path, i, "tokens_per_problem", f[9]);
            string? bad = n < 1 || n != Math.Floor(n) || n > Budget.MaxSamples ? $"n {f[3]} is not a whole number of samples from 1"
                : accuracy is < 0 or > 1 ? $"accuracy {f[7]} is outside 0..1"
                : flops <= 0 ? $"flops_per_problem {f[8]} is not positive"
                : tokens <= 0 ? $"tokens_per_problem {f[9]} is not positive"
                : null;
            if (bad is not null) throw new InvalidDataException($"{path}:{i + 1}: {bad}");
            rows.Add((f[1], (int)n, accuracy, flops, tokens));
        }
        if (rows.Count == 0) throw new InvalidDataException($"{path}: no validation rows; compute-optimal chooses on validation only");
        return rows.GroupBy(r => (r.Arm, r.N)).Select(g => new PlanEntry(g.Key.Arm, arms[g.Key.Arm].Kind, arms[g.Key.Arm].Settings, g.Key.N,
            g.Average(r => r.Flops), g.Average(r => r.Tokens), g.Average(r => r.Accuracy))).ToList();
    }

    private static double Number(string path, int line, string column, string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v) ? v
            : throw new InvalidDataException($"{path}:{line + 1}: {column} '{text}' is not a number");
}
