using ScottPlot;

namespace Ponder.Scaling;

/// <summary>PNG line plots for reports (ScottPlot, headless).</summary>
public static class Plots
{
    /// <summary>Lines on one axis; series listed in <paramref name="right"/> go on a second y axis.</summary>
    public static void Lines(string path, string title, string xLabel, string yLabel, IReadOnlyList<Series> series,
        string? rightLabel = null, IReadOnlyList<Series>? right = null, bool logX = false)
    {
        var plot = new Plot();
        foreach (var s in series) Add(plot, s, logX, null);
        if (right is not null)
        {
            foreach (var s in right) Add(plot, s, logX, plot.Axes.Right);
            plot.Axes.Right.Label.Text = rightLabel ?? "";
        }
        if (logX)
        {
            var ticks = new ScottPlot.TickGenerators.NumericAutomatic { LabelFormatter = v => Math.Pow(10, v).ToString("G3") };
            plot.Axes.Bottom.TickGenerator = ticks;
        }
        plot.Title(title);
        plot.XLabel(logX ? xLabel + " (log scale)" : xLabel);
        plot.YLabel(yLabel);
        plot.ShowLegend(Alignment.LowerRight);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        plot.SavePng(path, 900, 540);
    }

    static void Add(Plot plot, Series s, bool logX, IYAxis? axis)
    {
        double[] xs = s.X.Select(x => logX ? Math.Log10(x) : x).ToArray();
        double[] ys = s.Y.ToArray();
        var line = plot.Add.Scatter(xs, ys);
        line.LegendText = s.Name;
        if (axis is not null) line.Axes.YAxis = axis;
        if (s.Error is not null)
        {
            var bars = plot.Add.ErrorBar(xs, ys, s.Error.ToArray());
            bars.Color = line.Color;
            if (axis is not null) bars.Axes.YAxis = axis;
        }
    }
}
