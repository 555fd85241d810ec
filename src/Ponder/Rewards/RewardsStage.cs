using System.Text.Json.Nodes;
using Ponder.Learning;
using Ponder.Policy;
using Ponder.Tasks;
using static TorchSharp.torch;

namespace Ponder.Rewards;

/// <summary>
/// The reward-design stage of <c>ponder demo</c>, run after policy initialization: Monte-Carlo process labels from
/// the policy, a PRM and an ORM trained on them (the ORM on the same samples' outcomes), then
/// <see cref="RewardEvaluation"/> on held-out problems. Writes into <c>outDir</c>: <c>rewards/</c> (labels, both
/// checkpoints, <c>eval.json</c>) and <c>reward_reliability.png</c>.
/// </summary>
/// <remarks>
/// Figures: everything in <see cref="RewardEvalResult.ToJson"/> (<c>prm_step_auc</c>, <c>orm_step_auc</c>,
/// <c>prm_ece</c>, <c>prm_first_error_f1</c>, <c>bo16_prm</c>, <c>bo16_prm_max</c>, <c>bo16_orm</c>, <c>maj16</c>,
/// <c>bo16_oracle</c>, <c>select_*</c>, …) plus <c>label_tokens</c>, <c>label_rollouts</c>, <c>label_seconds</c>,
/// <c>label_solutions</c>, <c>prm_val_auc</c>, <c>orm_val_auc</c>, <c>rewards_seconds</c>. Budget: about 6 minutes
/// on 2 cores at full size, 1 minute with <paramref name="quick"/>.
/// </remarks>
public static class RewardsStage
{
    /// <summary>Labelling, training and evaluation sizes of the full and quick stage.</summary>
    public static (LabelOptions Labels, int PrmSteps, int OrmSteps, RewardEvalOptions Eval) Sizes(bool quick, int seed) => quick
        ? (new LabelOptions { Problems = 48, Samples = 2, K = 4, Seed = seed }, 30, 30, new RewardEvalOptions { Count = 24, Samples = 16, Seed = 0 })
        : (new LabelOptions { Problems = 1024, Samples = 4, K = 8, Seed = seed }, 400, 200, new RewardEvalOptions { Count = 100, Samples = 16, Seed = 0 });

    public static RewardsStageResult Run(string policyDir, string outDir, bool quick, Device device, int seed = 1, IProgress<string>? progress = null)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        string dir = Path.Combine(outDir, "rewards");
        var (labelling, prmSteps, ormSteps, evalOptions) = Sizes(quick, seed);
        string task = Checkpoint.ReadState(policyDir).Task;
        var lines = new TrainLines(progress);
        var prmOptions = new RewardTrainerOptions
        {
            Kind = RewardModelKind.Prm, Task = task, Policy = policyDir, Out = Path.Combine(dir, "prm"),
            LabelCache = Path.Combine(dir, "labels-mc.jsonl"), Labelling = labelling, Steps = prmSteps, EvalEvery = 0, Seed = seed,
        };
        var prm = new RewardTrainer(prmOptions, device).Run(lines);
        var orm = new RewardTrainer(prmOptions with { Kind = RewardModelKind.Orm, Out = Path.Combine(dir, "orm"), Steps = ormSteps }, device).Run(lines);

        var policy = LoadedPolicy.Load(policyDir, device);
        var prmModel = LoadedRewardModel.Load(prmOptions.Out, device);
        var ormModel = LoadedRewardModel.Load(Path.Combine(dir, "orm"), device);
        var eval = RewardEvaluation.Run(new Policy.Generator(policy.Model, policy.Tokenizer), TaskRegistry.Create(task),
            prmModel.Scorer(evalOptions.Headline), ormModel.Scorer(), evalOptions, progress);
        eval.PlotReliability(Path.Combine(outDir, "reward_reliability.png"));

        var cost = prm.Labels.Cost;
        var figures = eval.ToJson();
        figures["label_solutions"] = prm.Labels.Count;
        figures["label_k"] = prm.Labels.K;
        figures["label_tokens"] = cost.SampledTokens + cost.RolloutTokens;
        figures["label_rollouts"] = cost.Rollouts;
        figures["label_seconds"] = Math.Round(cost.Seconds, 1);
        figures["prm_val_auc"] = double.IsFinite(prm.ValidationAuc) ? Math.Round(prm.ValidationAuc, 4) : null;
        figures["orm_val_auc"] = double.IsFinite(orm.ValidationAuc) ? Math.Round(orm.ValidationAuc, 4) : null;
        figures["rewards_seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 1);
        AtomicFile.Write(Path.Combine(dir, "eval.json"), figures.ToJsonString(new() { WriteIndented = true }));

        string preface = $"Labels: {prm.Labels.Count} solutions sampled from the policy on {labelling.Problems} train problems ({labelling.Samples} each), " +
            $"every step prefix completed k = {prm.Labels.K} times (Math-Shepherd; hard label = any completion correct): {cost.Rollouts:N0} completions, " +
            $"{cost.SampledTokens + cost.RolloutTokens:N0} tokens decoded in {cost.Seconds:F1}s. No gold step label was used for training. " +
            $"PRM: the policy's trunk + a scalar head on the hidden state + a likelihood head on the running sum and minimum of the solution's token log-probabilities, {prmSteps} steps of binary cross-entropy at every step end (held-out AUC against MC labels {prm.ValidationAuc:F3}); " +
            $"ORM: the same on the samples' outcomes, {ormSteps} steps. Files: `rewards/prm`, `rewards/orm`, `rewards/labels-mc.jsonl`.";
        return new RewardsStageResult(figures, eval.ToMarkdown("reward_reliability.png", preface));
    }

    /// <summary>Passes trainer messages (labelling, evaluations) on as lines; per-step reports are dropped.</summary>
    sealed class TrainLines(IProgress<string>? lines) : IProgress<TrainProgress>
    {
        public void Report(TrainProgress value)
        {
            if (value.Message is not null) lines?.Report(value.Message);
        }
    }
}
