namespace Ponder.Scaling;

/// <summary>Figures derived from sweep curves: efficiency against a reference arm, and where a tree search beats it at equal compute.</summary>
public static class ScalingAnalysis
{
    public const string Reference = "bon-majority";

    /// <summary>Per arm, the FLOPs to reach the reference arm's best mean accuracy and the ratio to the reference's own FLOPs for it.</summary>
    public static IReadOnlyList<EfficiencyRow> Efficiency(IReadOnlyList<ScalingCurve> curves, string reference = Reference)
    {
        var refCurve = curves.FirstOrDefault(c => c.Arm == reference);
        if (refCurve is null || refCurve.Points.Count == 0) return [];
        double target = refCurve.Points.Max(p => p.Accuracy);
        double refFlops = refCurve.FlopsToReach(target)!.Value;
        return curves.Select(c => c.FlopsToReach(target) is { } f ? new EfficiencyRow(c.Arm, target, f, refFlops / f) : new EfficiencyRow(c.Arm, target, null, null)).ToList();
    }

    /// <summary>
    /// Points of <paramref name="arm"/> whose accuracy exceeds the reference arm's best accuracy within the same FLOPs
    /// by more than the two spreads combined (√(s₁² + s₂²)); with the reference accuracy they beat. A point of one seed
    /// has no spread to compare against (its 0 would make any difference a win): it claims nothing.
    /// </summary>
    public static IReadOnlyList<(CurvePoint Point, double Reference)> Beats(ScalingCurve arm, ScalingCurve reference)
    {
        var wins = new List<(CurvePoint, double)>();
        foreach (var p in arm.Points)
        {
            if (reference.BestWithin(p.Flops) is not { } r || p.Seeds < 2 || r.Seeds < 2) continue;
            if (p.Accuracy > r.Accuracy + Math.Sqrt(p.Spread * p.Spread + r.Spread * r.Spread)) wins.Add((p, r.Accuracy));
        }
        return wins;
    }
}
