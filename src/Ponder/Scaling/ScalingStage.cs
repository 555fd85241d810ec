using System.Diagnostics;
using Ponder.Policy;
using Ponder.Rewards;
using Ponder.Search;
using Ponder.Tasks;

namespace Ponder.Scaling;

/// <summary>
/// The inference-scaling stage: sweep strategies × budgets × seeds on held-out problems, fit power laws, measure
/// efficiency against best-of-N majority, and pick compute-optimal settings on a validation split.
/// <see cref="Run"/> is the reduced grid <c>ponder demo</c> calls; <see cref="Measure"/> is the general sweep.
/// </summary>
public static class ScalingStage
{
    /// <summary>
    /// The demo's grid (<see cref="DemoTest"/>): full: N ∈ {1, 2, 4, 8, 16}, 2 seeds on 100 test problems, 2 seeds on 100
    /// validation problems (with 40, the choice at the larger budgets did not hold up on test), every default arm but DVTS and PRM-max best-of-N (beam and MCTS stand for the trees, the PRM
    /// vote for PRM selection; <c>ponder scale</c> runs them all); quick: every arm, N ∈ {1, 4}, 2 seeds, 8 test and
    /// 6 validation problems (about 15 seconds).
    /// Writes scaling.csv/json and the PNGs into <paramref name="outDir"/>.
    /// </summary>
    public static ScalingStageResult Run(LoadedPolicy policy, ITask task, IProcessReward? prm, IOutcomeReward? orm, string outDir, bool quick,
        int seed = 0, IProgress<string>? progress = null, string? prmName = null, string? ormName = null, LoadedPolicy? reviser = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(task);
        var test = DemoTest(quick, seed);
        var validation = test with { Split = Split.Train, Seeds = quick ? 1 : 2, Problems = quick ? 6 : 100 };
        var arms = SweepArm.Defaults(prm is not null, orm is not null, task is CountdownTask, reviser is not null)
            .Where(a => quick || a.Name is not ("dvts" or "bon-prm-max")).ToList();
        string command = $"ScalingStage.Run(quick: {quick}, seed: {seed})";
        var run = Measure(policy, task, prm, prmName ?? Describe(prm), orm, ormName ?? (orm is null ? "none" : orm.GetType().Name), arms, test, validation, null, command, progress, reviser);
        var (markdown, pngs) = ScalingReport.Write(run, outDir);
        return new ScalingStageResult(ScalingReport.Summary(run), markdown, pngs, run);
    }

    /// <summary>
    /// The demo's test grid. 100 problems, not fewer: on the first 40 every arm sat within a few points of 50 % and
    /// the seeds' spread hid any difference between strategies.
    /// </summary>
    public static SweepOptions DemoTest(bool quick, int seed) => quick
        ? new SweepOptions { Budgets = [1, 4], Seeds = 2, Problems = 8, ProblemSeed = seed }
        : new SweepOptions { Budgets = [1, 2, 4, 8, 16], Seeds = 2, Problems = 100, ProblemSeed = seed };

    /// <summary>
    /// Test and validation sweeps of <paramref name="arms"/>, with curves, fits, efficiency and compute-optimal rows;
    /// with <paramref name="bins"/> &gt; 0 also compute-optimal per difficulty bin (<see cref="BinnedPlan"/>), whose
    /// estimates run on both splits with <paramref name="estimator"/> (default: 4 samples).
    /// </summary>
    public static ScalingRun Measure(LoadedPolicy policy, ITask task, IProcessReward? prm, string prmName, IOutcomeReward? orm, string ormName,
        IReadOnlyList<SweepArm> arms, SweepOptions test, SweepOptions validation, SearchLimits? limits, string command, IProgress<string>? progress,
        LoadedPolicy? reviser = null, int bins = 0, DifficultyEstimator? estimator = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(task);
        var clock = Stopwatch.StartNew();
        limits ??= new SearchLimits
        {
            MaxNewTokens = Evaluator.MaxNewTokens(policy.Tokenizer, task, task.Problems(test.Split, test.Problems, test.ProblemSeed), policy.Model.Config.MaxPositions),
        };
        var searchPolicy = new GeneratorPolicy(policy, limits);
        var context = SearchContext.For(task, searchPolicy, prm, orm) with { Reviser = reviser is null ? null : new GeneratorPolicy(reviser, limits) };
        var skipped = new List<string>();
        var testPoints = ScalingSweep.Run(task, searchPolicy, context, arms, test, Prefixed(progress, "test"), skipped);
        var validationPoints = ScalingSweep.Run(task, searchPolicy, context, arms, validation, Prefixed(progress, "validation"));
        var curves = ScalingCurve.From(testPoints);
        var optimal = new ComputeOptimal(ComputeOptimalPlan.From(validationPoints, arms));
        IReadOnlyList<BinnedRow> binnedRows = [];
        BinnedComputeOptimal? binned = null;
        if (bins > 0)
        {
            estimator ??= new DifficultyEstimator();
            var validationEstimates = BinnedPlan.Estimate(task, context, validation, estimator, Prefixed(progress, "validation"));
            var testEstimates = BinnedPlan.Estimate(task, context, test, estimator, Prefixed(progress, "test"));
            binned = BinnedPlan.From(validationPoints, arms, validationEstimates, bins, estimator);
            binnedRows = BinnedPlan.Evaluate(binned, optimal, testPoints, testEstimates, curves);
        }
        return new ScalingRun(command, task.Name, policy.Dir, policy.Model.ParameterCount, prmName, ormName, test, validation, arms,
            testPoints, validationPoints, curves, ScalingAnalysis.Efficiency(curves), ComputeOptimalPlan.Evaluate(optimal, curves), skipped, clock.Elapsed.TotalSeconds)
        {
            Binned = binnedRows, BinnedPlan = binned,
        };
    }

    /// <summary>How reports name the exact step checker used as a PRM: an oracle, not a learned model.</summary>
    public const string GoldPrm = "gold step checker (ORACLE, not a learned PRM)";

    private static string Describe(IProcessReward? prm) => prm switch
    {
        null => "none",
        GoldStepReward => GoldPrm,
        _ => prm.GetType().Name,
    };

    private static IProgress<string>? Prefixed(IProgress<string>? progress, string prefix) =>
        progress is null ? null : new Progress(s => progress.Report($"[{prefix}] {s}"));

    private sealed class Progress(Action<string> report) : IProgress<string>
    {
        public void Report(string value) => report(value);
    }
}
