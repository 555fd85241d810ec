using ScottPlot;

namespace Ponder.Scaling;

/// <summary>The two figures of a scaling report: accuracy vs compute (log x, error bars) and error rate vs compute with fitted power laws (log-log).</summary>
public static class ScalingPlots
{
    public static void Accuracy(string path, string title, IReadOnlyList<ScalingCurve> curves, IReadOnlyList<OptimalRow>? optimal = null,
        IReadOnlyList<BinnedRow>? binned = null)
    {
        var plot = new Plot();
        var lines = curves.Select(c => (c.Arm, Points: c.Points.Select(p => (p.Flops, p.Accuracy, p.Spread)).ToList())).ToList();
        if (optimal is { Count: > 0 }) lines.Add(("compute-optimal", optimal.Select(r => (r.Flops, r.Accuracy, r.Spread)).ToList()));
        if (binned is { Count: > 0 }) lines.Add(("compute-optimal (binned)", binned.Select(r => (r.Flops, r.Accuracy, r.Spread)).ToList()));
        for (int i = 0; i < lines.Count; i++)
        {
            var color = Palette.GetColor(i);
            double[] xs = lines[i].Points.Select(p => Math.Log10(p.Flops)).ToArray(), ys = lines[i].Points.Select(p => p.Accuracy).ToArray();
            var line = plot.Add.Scatter(xs, ys, color);
            line.LegendText = lines[i].Arm;
            if (lines[i].Arm.StartsWith("compute-optimal", StringComparison.Ordinal)) (line.LinePattern, line.LineWidth) = (LinePattern.Dotted, 3);
            var bars = plot.Add.ErrorBar(xs, ys, lines[i].Points.Select(p => p.Spread).ToArray());
            bars.Color = color;
        }
        Finish(plot, path, title, "accuracy (error bars: spread over seeds)", logY: false, Alignment.LowerRight);
    }

    public static void ErrorFits(string path, string title, IReadOnlyList<ScalingCurve> curves)
    {
        var plot = new Plot();
        int index = -1;
        foreach (var c in curves)
        {
            index++;
            var pts = c.Points.Where(p => p.Accuracy < 1).ToList();
            if (c.Points.Count < 2 || pts.Count == 0) continue;
            var dots = plot.Add.ScatterPoints(pts.Select(p => Math.Log10(p.Flops)).ToArray(), pts.Select(p => Math.Log10(1 - p.Accuracy)).ToArray(), Palette.GetColor(index));
            dots.MarkerSize = 7;
            dots.LegendText = double.IsNaN(c.ErrorFit.Exponent) ? c.Arm : $"{c.Arm}: exponent {c.ErrorFit.Exponent:F3}, R² {c.ErrorFit.RSquared:F2}";
            if (double.IsNaN(c.ErrorFit.Exponent)) continue;
            double lo = c.Points.Min(p => p.Flops), hi = c.Points.Max(p => p.Flops);
            var xs = Enumerable.Range(0, 20).Select(i => lo * Math.Pow(hi / lo, i / 19.0)).ToArray();
            var line = plot.Add.ScatterLine(xs.Select(Math.Log10).ToArray(), xs.Select(x => Math.Log10(c.ErrorFit.At(x))).ToArray());
            line.Color = dots.Color;
            line.LinePattern = LinePattern.Dashed;
        }
        Finish(plot, path, title, "error rate (log scale); dashed: fitted a·C^b", logY: true, Alignment.LowerLeft);
    }

    /// <summary>One color per arm, the same in both figures (ScottPlot's default palette also advances on error bars and fit lines).</summary>
    private static readonly IPalette Palette = new ScottPlot.Palettes.Category10();

    private static void Finish(Plot plot, string path, string title, string yLabel, bool logY, Alignment legend)
    {
        static string Power(double v) => Math.Pow(10, v).ToString("G3", System.Globalization.CultureInfo.InvariantCulture);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { LabelFormatter = Power };
        if (logY) plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { LabelFormatter = Power };
        plot.Title(title);
        plot.XLabel("FLOPs per problem (log scale)");
        plot.YLabel(yLabel);
        plot.ShowLegend(legend);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        plot.SavePng(path, 900, 540);
    }
}
