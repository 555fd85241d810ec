namespace Ponder.Scaling;

/// <summary>Everything one scaling sweep measured and derived, for reports.</summary>
/// <param name="Command">The command (or call) that made it, named in the report.</param>
/// <param name="Prm">What served as the process reward, e.g. <c>gold (ORACLE step checker)</c> or a checkpoint folder.</param>
public sealed record ScalingRun(
    string Command, string Task, string Policy, long PolicyParameters, string Prm, string Orm,
    SweepOptions Test, SweepOptions Validation, IReadOnlyList<SweepArm> Arms,
    IReadOnlyList<SweepPoint> TestPoints, IReadOnlyList<SweepPoint> ValidationPoints,
    IReadOnlyList<ScalingCurve> Curves, IReadOnlyList<EfficiencyRow> Efficiency, IReadOnlyList<OptimalRow> Optimal,
    IReadOnlyList<string> Skipped, double Seconds)
{
    /// <summary>Compute-optimal per difficulty bin on test (empty unless the run asked for bins).</summary>
    public IReadOnlyList<BinnedRow> Binned { get; init; } = [];

    /// <summary>The binned plan chosen on validation (its estimator and bin edges); null unless the run asked for bins.</summary>
    public Search.BinnedComputeOptimal? BinnedPlan { get; init; }
}
