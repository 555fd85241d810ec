using System.Text.Json.Nodes;
using Ponder.Scaling;
using Ponder.Search;
using Ponder.Tests.Search;

namespace Ponder.Tests.Scaling;

public sealed class ScalingSweepTests
{
    private static (IReadOnlyList<SweepPoint> Points, List<string> Skipped) Sweep(IReadOnlyList<SweepArm> arms)
    {
        var policy = new ToyPolicy(StrategyTests.Table());
        var context = ToyPolicy.Context(policy, StrategyTests.Prm());
        var skipped = new List<string>();
        var points = ScalingSweep.Run(new ToyTask(), policy, context, arms, new SweepOptions { Budgets = [1, 2, 8], Seeds = 3, Problems = 6 }, null, skipped);
        return (points, skipped);
    }

    [Fact]
    public void Sweep_runs_every_runnable_cell_for_every_seed_and_names_the_skipped_ones()
    {
        var arms = SweepArm.Defaults(prm: true, orm: false, verifier: false);
        var (points, skipped) = Sweep(arms);
        Assert.Equal(3, points.Count(p => p.Arm == "greedy"));                   // greedy runs at N = 1 only
        Assert.Equal(9, points.Count(p => p.Arm == "bon-majority"));
        Assert.Equal(3, points.Count(p => p.Arm == "beam"));                     // beam (M = 4) runs at N = 8 only
        Assert.Contains(skipped, s => s.StartsWith("beam N=2", StringComparison.Ordinal));
        Assert.True(points.Where(p => p.Arm == "beam").Average(p => p.Accuracy) > 0.8);   // misses only when no first step of 8 is b1 (0.7⁸ ≈ 6%)
        Assert.All(points.Where(p => p.Arm == "greedy"), p => Assert.Equal(0.0, p.Accuracy));
        Assert.True(points.Where(p => p.Arm == "bon-majority" && p.N == 8).Average(p => p.Accuracy) < 0.5);
        Assert.All(points, p => Assert.True(p.Flops > 0));
    }

    [Fact]
    public void Report_writes_csv_json_markdown_and_plots_with_the_summary_keys()
    {
        var arms = SweepArm.Defaults(prm: true, orm: false, verifier: false).Where(a => a.Name is "greedy" or "bon-majority" or "bon-prm-max" or "dvts").ToList();
        var (points, skipped) = Sweep(arms);
        var curves = ScalingCurve.From(points);
        var optimal = new ComputeOptimal(ComputeOptimalPlan.From(points, arms));
        var run = new ScalingRun("test", "toy", "toy-policy", 0, "toy prm", "none", new SweepOptions(), new SweepOptions(), arms, points, points,
            curves, ScalingAnalysis.Efficiency(curves), ComputeOptimalPlan.Evaluate(optimal, curves), skipped, 1);
        using var dir = new TempDirectory();
        var (markdown, pngs) = ScalingReport.Write(run, dir.Path);
        foreach (var file in new[] { "scaling.csv", "scaling.json", "scaling_accuracy.png", "scaling_error.png" })
            Assert.True(new FileInfo(Path.Combine(dir.Path, file)).Length > 100, file);
        Assert.Equal(2, pngs.Count);
        Assert.Contains("## Inference scaling", markdown);
        var summary = ScalingReport.Summary(run);
        Assert.NotNull(summary["strategies"]!["dvts"]!["efficiency_vs_bon_majority"]);
        Assert.True(summary["compute_optimal_at_least_as_good"]!.GetValue<bool>());
        var lines = File.ReadAllLines(Path.Combine(dir.Path, "scaling.csv"));
        Assert.Equal(1 + 2 * points.Count, lines.Length);
        Assert.NotNull(JsonNode.Parse(File.ReadAllText(Path.Combine(dir.Path, "scaling.json")))!["curves"]);
    }
}
