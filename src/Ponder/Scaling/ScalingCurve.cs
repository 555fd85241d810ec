namespace Ponder.Scaling;

/// <summary>Accuracy against compute of one arm, points in increasing N, with the power law fitted to its error rate.</summary>
public sealed record ScalingCurve(string Arm, string Strategy, IReadOnlyList<CurvePoint> Points, PowerLawFit ErrorFit)
{
    /// <summary>Curves of every arm in the order the points first name them.</summary>
    public static IReadOnlyList<ScalingCurve> From(IReadOnlyList<SweepPoint> points)
    {
        ArgumentNullException.ThrowIfNull(points);
        return points.GroupBy(p => p.Arm).Select(arm =>
        {
            var curve = arm.GroupBy(p => p.N).OrderBy(g => g.Key).Select(g =>
            {
                var acc = g.Select(p => p.Accuracy).ToList();
                double mean = acc.Average();
                double sd = acc.Count < 2 ? 0 : Math.Sqrt(acc.Sum(a => (a - mean) * (a - mean)) / (acc.Count - 1));
                return new CurvePoint(g.Key, g.Average(p => p.Flops), g.Average(p => p.Tokens), mean, sd, acc.Count);
            }).ToList();
            var fit = PowerLawFit.Fit(curve.Select(c => c.Flops).ToList(), curve.Select(c => 1 - c.Accuracy).ToList());
            return new ScalingCurve(arm.Key, arm.First().Strategy, curve, fit);
        }).ToList();
    }

    /// <summary>Best mean accuracy among the points that spent at most <paramref name="flops"/>; null when none did.</summary>
    public CurvePoint? BestWithin(double flops) =>
        Points.Where(p => p.Flops <= flops * (1 + 1e-9)).OrderByDescending(p => p.Accuracy).ThenBy(p => p.Flops).FirstOrDefault();

    /// <summary>
    /// FLOPs at which the curve first reaches <paramref name="accuracy"/>, interpolating linearly in log FLOPs between
    /// the last point below and the first point at or above it; null when it never does.
    /// </summary>
    public double? FlopsToReach(double accuracy)
    {
        var sorted = Points.OrderBy(p => p.Flops).ToList();
        for (int i = 0; i < sorted.Count; i++)
        {
            if (sorted[i].Accuracy < accuracy - 1e-12) continue;
            if (i == 0 || sorted[i - 1].Accuracy >= sorted[i].Accuracy) return sorted[i].Flops;
            var (a, b) = (sorted[i - 1], sorted[i]);
            double t = (accuracy - a.Accuracy) / (b.Accuracy - a.Accuracy);
            return Math.Exp(Math.Log(a.Flops) + t * (Math.Log(b.Flops) - Math.Log(a.Flops)));
        }
        return null;
    }
}
