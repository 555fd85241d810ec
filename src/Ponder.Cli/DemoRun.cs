using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace Ponder.Cli;

/// <summary>The state one <c>ponder demo</c> run shares across its stages: output folder, size, device, the report and summary being written, stage times.</summary>
public sealed class DemoRun(string outDir, bool quick, int seed, Device device, string deviceName)
{
    readonly Stopwatch total = Stopwatch.StartNew();
    readonly JsonObject stages = new();

    public string OutDir => outDir;
    public bool Quick => quick;
    public int Seed => seed;
    public Device Device => device;
    public string DeviceName => deviceName;
    public StringBuilder Report { get; } = new();
    public JsonObject Summary { get; } = new();

    /// <summary>Runs one stage, printing its name and wall time and recording the time in summary.json.</summary>
    public void Stage(string name, Action action)
    {
        Console.WriteLine($"== stage {name} ==");
        var clock = Stopwatch.StartNew();
        action();
        double secs = Math.Round(clock.Elapsed.TotalSeconds, 1);
        stages[name] = secs;
        Console.WriteLine($"== stage {name} done in {secs.ToString(CultureInfo.InvariantCulture)}s (total {total.Elapsed.TotalSeconds:F0}s) ==");
    }

    /// <summary>Writes report.md (with the stage-time table) and summary.json; safe to call after every stage.</summary>
    public void Write()
    {
        Summary["stage_seconds"] = stages.DeepClone();
        Summary["total_seconds"] = Math.Round(total.Elapsed.TotalSeconds, 1);
        var report = new StringBuilder(Report.ToString());
        report.AppendLine("## Stage times").AppendLine().AppendLine("| stage | seconds |").AppendLine("|---|---|");
        foreach (var (name, secs) in stages) report.AppendLine($"| {name} | {secs} |");
        report.AppendLine($"| total | {total.Elapsed.TotalSeconds:F0} |");
        AtomicFile.Write(Path.Combine(outDir, "report.md"), report.ToString());
        AtomicFile.Write(Path.Combine(outDir, "summary.json"), Summary.ToJsonString(JsonText.Indented));
    }

    public double TotalSeconds => total.Elapsed.TotalSeconds;
}
