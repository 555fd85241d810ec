using ScottPlot;

namespace Ponder.Scaling;

/// <summary>The two figures of a scaling report: accuracy vs compute (log x, error bars) and error rate vs compute with fitted power laws (log-log).</summary>
public static class ScalingPlots
{
    public static void Accuracy(string path, string title, IReadOnlyList<ScalingCurve> curves, IReadOnlyList<OptimalRow>? optimal = null)
    {
        var series = curves.Select(c => new Series(c.Arm, c.Points.Select(p => p.Flops).ToList(), c.Points.Select(p => p.Accuracy).ToList(),
            c.Points.Select(p => p.Spread).ToList())).ToList();
        if (optimal is { Count: > 0 })
            series.Add(new Series("compute-optimal", optimal.Select(r => r.Flops).ToList(), optimal.Select(r => r.Accuracy).ToList(), optimal.Select(r => r.Spread).ToList()));
        Plots.Lines(path, title, "FLOPs per problem", "accuracy", series, logX: true);
    }

    public static void ErrorFits(string path, string title, IReadOnlyList<ScalingCurve> curves)
    {
        var plot = new Plot();
        foreach (var c in curves.Where(c => c.Points.Count > 1))
        {
            var pts = c.Points.Where(p => p.Accuracy < 1).ToList();
            if (pts.Count == 0) continue;
            var dots = plot.Add.ScatterPoints(pts.Select(p => Math.Log10(p.Flops)).ToArray(), pts.Select(p => Math.Log10(1 - p.Accuracy)).ToArray());
            dots.MarkerSize = 7;
            dots.LegendText = double.IsNaN(c.ErrorFit.Exponent) ? c.Arm : $"{c.Arm}: exponent {c.ErrorFit.Exponent:F3}, R² {c.ErrorFit.RSquared:F2}";
            if (double.IsNaN(c.ErrorFit.Exponent)) continue;
            double lo = c.Points.Min(p => p.Flops), hi = c.Points.Max(p => p.Flops);
            var xs = Enumerable.Range(0, 20).Select(i => lo * Math.Pow(hi / lo, i / 19.0)).ToArray();
            var line = plot.Add.ScatterLine(xs.Select(Math.Log10).ToArray(), xs.Select(x => Math.Log10(c.ErrorFit.At(x))).ToArray());
            line.Color = dots.Color;
            line.LinePattern = LinePattern.Dashed;
        }
        var ticks = new ScottPlot.TickGenerators.NumericAutomatic { LabelFormatter = v => Math.Pow(10, v).ToString("G3") };
        plot.Axes.Bottom.TickGenerator = ticks;
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { LabelFormatter = v => Math.Pow(10, v).ToString("G3") };
        plot.Title(title);
        plot.XLabel("FLOPs per problem (log scale)");
        plot.YLabel("error rate (log scale); dashed: fitted a·C^b");
        plot.ShowLegend(Alignment.LowerLeft);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        plot.SavePng(path, 900, 540);
    }
}
