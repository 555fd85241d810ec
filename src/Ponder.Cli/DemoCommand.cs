using System.Text.Json.Nodes;
using Ponder.Learning;
using Ponder.Policy;
using Ponder.Rewards;
using Ponder.Scaling;
using Ponder.Tasks;
using Ponder.Thinking;

namespace Ponder.Cli;

/// <summary>
/// <c>ponder demo</c>, the main job: from nothing, train the default policy, evaluate it, improve it
/// with RL, and write <c>runs/demo/report.md</c> (with PNGs) and <c>runs/demo/summary.json</c> with
/// every headline figure. Each stage prints its wall time. <c>--quick</c> runs every stage at toy size.
/// </summary>
public static class DemoCommand
{
    public const string Usage = """
        ponder demo [--quick] [--out DIR] [--seed S] [--device cpu|cuda]
          full: under 30 minutes on 2 cores; --quick: every stage at toy size in a few minutes
          --out: a new or empty folder (runs/demo; with --quick runs/demo-quick): an earlier demo there is kept, not replaced
        """;

    public static int Run(string[] args)
    {
        var o = new Options("demo", args);
        bool quick = o.Flag("quick");
        string outDir = o.String("out", quick ? "runs/demo-quick" : "runs/demo")!;
        int seed = o.Int("seed", 1);
        string deviceName = o.String("device", "cpu")!;
        var device = TorchRuntime.Initialize(deviceName);
        o.Done();

        OutputFolder.RequireEmpty("demo", outDir);              // an earlier demo's policy, labels and report are not overwritten
        OutputFolder.RequireWritableFolder("demo", outDir);
        var run = new DemoRun(outDir, quick, seed, device, deviceName);
        run.Summary["mode"] = quick ? "quick" : "full";
        run.Summary["seed"] = seed;
        run.Summary["device"] = deviceName;
        run.Report.AppendLine("# Ponder demo report").AppendLine();
        run.Report.AppendLine($"Made by `./ponder demo{(quick ? " --quick" : "")} --seed {seed}` on {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC " +
            $"({Environment.ProcessorCount} cores, device {deviceName}). Every figure below comes from this run.").AppendLine();

        var (policyDir, sftEval) = PolicyStages(run);
        RewardStage(run, policyDir);
        var before = ScalingStageOf(run, policyDir, "scaling", run.OutDir);
        string rlDir = RlStage(run, policyDir, sftEval);
        var after = ScalingStageOf(run, rlDir, "scaling-after-rl", Path.Combine(run.OutDir, "after-rl"));
        BeforeAfterPlot(run, before, after);
        LearnersStage(run, policyDir);
        ThinkingStageOf(run);
        run.Write();
        Console.WriteLine($"demo done in {run.TotalSeconds:F0}s: {Path.Combine(outDir, "report.md")}, {Path.Combine(outDir, "summary.json")}");
        return 0;
    }

    static EvalOptions EvalSize(DemoRun run) => new() { Count = run.Quick ? 50 : 200, Samples = run.Quick ? 8 : 64, Temperature = 1.0, Seed = 0 };

    /// <summary>Policy initialization (SFT from scratch) and its evaluation.</summary>
    static (string PolicyDir, EvalResult Eval) PolicyStages(DemoRun run)
    {
        var sft = run.Quick ? SftPresets.Quick(Path.Combine(run.OutDir, "policy"), run.Seed) : SftPresets.Default(Path.Combine(run.OutDir, "policy"), run.Seed);
        run.Stage("sft", () => new SftTrainer(sft, run.Device).Run(new ConsoleProgress("sft")));
        var policy = LoadedPolicy.Load(sft.Out, run.Device);
        var task = TaskRegistry.Create(sft.Task);
        var metrics = MetricsLog.Read(Path.Combine(sft.Out, "metrics.jsonl"));
        var train = metrics.Where(r => r.ContainsKey("loss")).ToList();
        var evals = metrics.Where(r => r.ContainsKey("eval_greedy")).ToList();
        Plots.Lines(Path.Combine(run.OutDir, "training.png"), "Policy initialization (SFT)", "step", "training loss",
            [new Series("loss", train.Select(r => r["step"]!.GetValue<double>()).ToList(), train.Select(r => r["loss"]!.GetValue<double>()).ToList())],
            "held-out greedy accuracy",
            [new Series("held-out greedy accuracy", evals.Select(r => r["step"]!.GetValue<double>()).ToList(), evals.Select(r => r["eval_greedy"]!.GetValue<double>()).ToList())]);
        double finalLoss = train.TakeLast(50).Average(r => r["loss"]!.GetValue<double>());
        double trainTps = train[^1]["tokens_per_s"]!.GetValue<double>();
        var s = run.Summary;
        s["task"] = task.Name;
        s["sft_params"] = policy.Model.ParameterCount;
        s["sft_steps"] = policy.State.Step;
        s["sft_final_loss"] = Math.Round(finalLoss, 4);
        s["sft_train_tokens_per_s"] = trainTps;

        EvalResult eval = null!;
        run.Stage("eval", () => eval = Evaluator.Run(policy.Model, policy.Tokenizer, task, EvalSize(run), new LineProgress("[eval] ")));
        AtomicFile.Write(Path.Combine(run.OutDir, "eval.json"), eval.ToJson().ToJsonString(JsonText.Indented));
        AddEval(s, "sft", eval);
        int kMax = eval.Samples;
        s[$"sft_headroom_pass@{kMax}_minus_greedy"] = Math.Round(eval.PassAt[kMax] - eval.Greedy, 4);

        var r = run.Report;
        r.AppendLine("## Policy initialization").AppendLine();
        r.AppendLine($"Task `{task.Name}`; an example held-out problem and its gold solution:").AppendLine();
        var example = task.Problems(Split.Test, 1, 0)[0];
        r.AppendLine("```").Append(example.Prompt).AppendLine(Solution.Join(task.GoldSolution(example) ?? [])).AppendLine("```").AppendLine();
        var c = policy.Model.Config;
        r.AppendLine($"Model: Llama architecture, hidden {c.HiddenSize}, {c.NumLayers} layers, {c.NumHeads} heads ({c.NumKvHeads} KV heads), " +
            $"SwiGLU {c.IntermediateSize}, {policy.Model.ParameterCount:N0} parameters, trained from scratch: {policy.State.Step} steps of {sft.BatchSize} solutions, " +
            $"peak learning rate {sft.Lr}, seed {run.Seed}, {trainTps:N0} training tokens/s; final loss {finalLoss:F4}.").AppendLine();
        r.AppendLine("![training curve](training.png)").AppendLine();
        r.AppendLine("## Evaluation of the SFT policy").AppendLine();
        r.AppendLine($"{eval.Count} held-out problems (test split, seed {eval.Seed}); {eval.Samples} samples each at temperature {eval.Temperature}. " +
            "pass@k is the unbiased estimator; maj@k averages majority vote over disjoint groups of k samples.").AppendLine();
        r.AppendLine(eval.ToMarkdown()).AppendLine();
        r.AppendLine($"Headroom for search and RL: pass@{kMax} − greedy = {eval.PassAt[kMax] - eval.Greedy:P1}. " +
            $"Decode: {eval.GeneratedTokens:N0} tokens in {eval.Seconds:F1}s ({eval.GeneratedTokens / eval.Seconds:N0} tokens/s).").AppendLine();
        run.Write();
        return (sft.Out, eval);
    }

    /// <summary>Reward design: Monte-Carlo process labels, a PRM and an ORM, and how well they judge and select.</summary>
    static void RewardStage(DemoRun run, string policyDir)
    {
        RewardsStageResult result = null!;
        run.Stage("rewards", () => result = RewardsStage.Run(policyDir, run.OutDir, run.Quick, run.Device, run.Seed, new LineProgress("[rewards] ")));
        foreach (var (key, value) in result.Figures) run.Summary[key] = value?.DeepClone();
        run.Report.AppendLine(result.Markdown).AppendLine();
        run.Write();
    }

    /// <summary>
    /// Inference scaling of a policy: every strategy × budgets × seeds with the learned PRM and ORM of the reward
    /// stage. Before RL the full report section; after RL the same sweep, kept for the before/after plot.
    /// </summary>
    static ScalingRun ScalingStageOf(DemoRun run, string policyDir, string stage, string outDir)
    {
        var policy = LoadedPolicy.Load(policyDir, run.Device);
        var task = TaskRegistry.Create(policy.State.Task);
        string rewards = Path.Combine(run.OutDir, "rewards");
        var prm = SolveCommand.Prm(Path.Combine(rewards, "prm"), task, policy, prefixCache: true);   // each RM token of a search runs once
        var orm = LoadedRewardModel.Load(Path.Combine(rewards, "orm"), run.Device).Scorer();
        const string prmName = "learned PRM (rewards/prm, Monte-Carlo labels)", ormName = "learned ORM (rewards/orm)";
        Directory.CreateDirectory(outDir);
        ScalingRun result = null!;
        if (stage == "scaling")
        {
            run.Stage(stage, () =>
            {
                var full = ScalingStage.Run(policy, task, prm, orm, outDir, run.Quick, run.Seed, new LineProgress($"[{stage}] "), prmName, ormName);
                run.Summary["scaling"] = full.Summary.DeepClone();
                run.Report.AppendLine(full.Markdown).AppendLine();
                if (run.Summary["prm_step_auc"] is JsonNode auc)
                {
                    bool treeWins = full.Summary["tree_beats_majority_at_equal_compute"]?.GetValue<bool>() == true;
                    run.Report.AppendLine($"The learned PRM steering the PRM-guided arms has step AUC {auc.GetValue<double>():F3} against gold step labels " +
                        "(reward section above). " + (treeWins
                            ? "A tree strategy beats best-of-N majority at equal compute at some budget (table above)."
                            : "No tree strategy beats best-of-N majority at equal compute here; with the task's exact step checker as an oracle PRM the same " +
                              "strategies do (docs/search-scaling/note.md, another policy), which points at the PRM rather than the search.")).AppendLine();
                }
                result = full.Run;
            });
        }
        else
        {
            // After RL only the two arms of the before/after plot, on the same test problems; no compute-optimal plan.
            var arms = SweepArm.Defaults(prm: true, orm: false, verifier: false).Where(a => a.Name is "bon-majority" or "bon-prm-vote").ToList();
            var test = ScalingStage.DemoTest(run.Quick, run.Seed);
            run.Stage(stage, () => result = ScalingStage.Measure(policy, task, prm, prmName, orm, ormName, arms, test,
                test with { Split = Split.Train, Seeds = 1, Budgets = [1] }, null, $"demo stage {stage}", new LineProgress($"[{stage}] ")));
        }
        run.Write();
        return result;
    }

    /// <summary>Accuracy against compute before and after RL on one plot: train-time and test-time compute both paying off.</summary>
    static void BeforeAfterPlot(DemoRun run, ScalingRun before, ScalingRun after)
    {
        var series = new List<Series>();
        foreach (var (label, sweep) in new[] { ("SFT", before), ("after GRPO", after) })
            foreach (var curve in sweep.Curves.Where(c => c.Arm is "bon-majority" or "bon-prm-vote"))
                series.Add(new Series($"{label}: {curve.Arm}", curve.Points.Select(p => p.Flops).ToList(), curve.Points.Select(p => p.Accuracy).ToList(),
                    curve.Points.Select(p => p.Spread).ToList()));
        Plots.Lines(Path.Combine(run.OutDir, "scaling_before_after_rl.png"), "Accuracy vs test-time compute, before and after RL",
            "FLOPs per problem", "held-out accuracy", series, logX: true);
        var r = run.Report;
        r.AppendLine("## Train-time and test-time compute together").AppendLine();
        r.AppendLine("The same sweep (best-of-N with majority vote and with the PRM-weighted vote) on the SFT policy and on the GRPO policy; " +
            "error bars are the spread over seeds.").AppendLine();
        r.AppendLine("| arm | N | SFT accuracy | after GRPO |").AppendLine("|---|---|---|---|");
        foreach (var curve in before.Curves.Where(c => c.Arm is "bon-majority" or "bon-prm-vote"))
        {
            var other = after.Curves.FirstOrDefault(c => c.Arm == curve.Arm);
            foreach (var p in curve.Points)
            {
                var q = other?.Points.FirstOrDefault(x => x.N == p.N);
                r.AppendLine($"| {curve.Arm} | {p.N} | {p.Accuracy:P1} | {(q is null ? "—" : q.Accuracy.ToString("P1"))} |");
            }
        }
        r.AppendLine().AppendLine("![before and after RL](scaling_before_after_rl.png)").AppendLine();
        run.Write();
    }

    /// <summary>
    /// Thinking longer: search-trace SFT vs optimal-path SFT at equal tokens on four-number countdown, the thinking-budget
    /// sweep and GRPO on the trace policy: ThinkingRecipe.Demo (about 12M tokens a policy, 200 held-out puzzles), the same
    /// stage that <c>ponder think stage --demo</c> runs alone.
    /// </summary>
    static void ThinkingStageOf(DemoRun run)
    {
        var recipe = run.Quick ? ThinkingRecipe.Quick(run.Seed) : ThinkingRecipe.Demo(run.Seed);
        ThinkingStageResult result = null!;
        var progress = new LineProgress("[think] ");
        run.Stage("thinking", () => result = ThinkingStage.Run(run.OutDir, recipe, run.Device, progress, pair => SideBySide.Train(pair, run.Device, progress)));
        foreach (var (key, value) in result.Summary) run.Summary[key] = value?.DeepClone();
        run.Report.AppendLine(result.Markdown).AppendLine();
        run.Write();
    }

    /// <summary>GRPO from the SFT policy for a fixed wall-time budget, then the same evaluation; returns the RL checkpoint.</summary>
    static string RlStage(DemoRun run, string policyDir, EvalResult sftEval)
    {
        var rl = new RlOptions
        {
            Policy = policyDir, Out = Path.Combine(run.OutDir, "rl"), Algorithm = RlAlgorithm.Grpo, Steps = run.Quick ? 10 : 400,
            PromptsPerStep = 16, GroupSize = 8, Lr = 3e-5, EvalEvery = run.Quick ? 5 : 20, EvalCount = run.Quick ? 50 : 200,
            CheckpointEvery = 0, MaxMinutes = run.Quick ? 1 : 4, Seed = run.Seed,
        };
        run.Stage("rl", () => new RlTrainer(rl, run.Device).Run(new ConsoleProgress("grpo", plainEvery: 10)));
        var policy = LoadedPolicy.Load(rl.Out, run.Device);
        var task = TaskRegistry.Create(policy.State.Task);
        EvalResult eval = null!;
        DivergenceResult sftDivergence = null!, rlDivergence = null!;
        run.Stage("rl-eval", () =>
        {
            eval = Evaluator.Run(policy.Model, policy.Tokenizer, task, EvalSize(run), new LineProgress("[rl-eval] "));
            var problems = task.Problems(Split.Test, EvalSize(run).Count, EvalSize(run).Seed);
            var sft = LoadedPolicy.Load(policyDir, run.Device);
            sftDivergence = GreedyDivergence.Measure(sft.Model, sft.Tokenizer, task, problems);
            rlDivergence = GreedyDivergence.Measure(policy.Model, policy.Tokenizer, task, problems);
        });
        AddEval(run.Summary, "rl", eval);
        run.Summary["rl_steps"] = policy.State.Step;
        foreach (var (prefix, d) in new[] { ("sft", sftDivergence), ("rl", rlDivergence) })
        {
            if (d.Points.Count == 0) continue;                  // every completion right: no median to report
            run.Summary[$"{prefix}_divergence_median_p_chosen"] = Math.Round(d.MedianGreedyProbability, 4);
            run.Summary[$"{prefix}_divergence_median_p_gold"] = Math.Round(d.MedianGoldProbability, 4);
        }
        var curves = LearningCurves.Plot(new Dictionary<string, string> { ["grpo"] = Path.Combine(rl.Out, "metrics.jsonl") }, run.OutDir, "rl");

        var r = run.Report;
        r.AppendLine("## Reinforcement learning (GRPO)").AppendLine();
        r.AppendLine($"GRPO from the SFT policy: {policy.State.Step} batches of {rl.PromptsPerStep} prompts × {rl.GroupSize} samples, " +
            $"verifier reward, KL β = {rl.KlCoef} (k3) to the SFT policy, learning rate {rl.Lr}, at most {rl.MaxMinutes} minutes.").AppendLine();
        r.AppendLine("| metric | SFT | after GRPO |").AppendLine("|---|---|---|");
        r.AppendLine($"| greedy | {sftEval.Greedy:P1} | {eval.Greedy:P1} |");
        foreach (var (k, v) in eval.PassAt) r.AppendLine($"| pass@{k} | {sftEval.PassAt[k]:P1} | {v:P1} |");
        foreach (var (k, v) in eval.MajorityAt) r.AppendLine($"| maj@{k} | {sftEval.MajorityAt[k]:P1} | {v:P1} |");
        r.AppendLine();
        r.AppendLine("Where greedy decoding first leaves the gold solution, on the wrong completions (`ponder eval --divergence`): " +
            "how sure the policy was of the token it chose, and how likely it found the gold token.").AppendLine();
        r.AppendLine("| at the first wrong token | SFT | after GRPO |").AppendLine("|---|---|---|");
        r.AppendLine($"| wrong completions measured | {sftDivergence.Points.Count} | {rlDivergence.Points.Count} |");
        r.AppendLine($"| median probability of the chosen token | {sftDivergence.MedianGreedyProbability:F3} | {rlDivergence.MedianGreedyProbability:F3} |");
        r.AppendLine($"| median probability of the gold token | {sftDivergence.MedianGoldProbability:F3} | {rlDivergence.MedianGoldProbability:F3} |");
        r.AppendLine($"| gold token is the second choice | {sftDivergence.GoldSecond:P1} | {rlDivergence.GoldSecond:P1} |");
        r.AppendLine();
        foreach (var path in curves) r.AppendLine($"![{Path.GetFileNameWithoutExtension(path)}]({Path.GetFileName(path)})");
        r.AppendLine();
        run.Write();
        return rl.Out;
    }

    /// <summary>
    /// Every learner (REINFORCE, RLOO, GRPO, PPO, expert iteration, DPO) from the SFT policy at one small rollout budget,
    /// each measured the same way (<see cref="LearnerComparison"/>); a row of keys per learner in summary.json.
    /// </summary>
    static void LearnersStage(DemoRun run, string policyDir)
    {
        int rollouts = run.Quick ? 256 : 1536, evalCount = run.Quick ? 20 : 100;
        IReadOnlyList<LearnerResult> results = [];
        run.Stage("learners", () => results = LearnerComparison.Run(policyDir, Path.Combine(run.OutDir, "learners"), rollouts, evalCount, run.Device,
            new LineProgress("[learners] "), run.Seed));
        foreach (var x in results)
        {
            string key = "learner_" + (x.Rollouts == 0 ? "start" : x.Learner.Replace(' ', '_'));
            run.Summary[$"{key}_rollouts"] = x.Rollouts;
            run.Summary[$"{key}_greedy"] = x.Greedy;
            run.Summary[$"{key}_pass@1"] = Math.Round(x.PassAt1, 4);
            run.Summary[$"{key}_pass@16"] = Math.Round(x.PassAt16, 4);
            run.Summary[$"{key}_mean_length"] = Math.Round(x.MeanLength, 2);
            run.Summary[$"{key}_kl_to_start"] = Math.Round(x.KlToStart, 4);
        }
        var r = run.Report;
        r.AppendLine("## Every learner at one rollout budget").AppendLine();
        r.AppendLine($"From the SFT policy, every learner at {rollouts:N0} rollouts, as `ponder train compare --rollouts {rollouts} " +
            $"--eval-count {evalCount}` runs them, then the same measurements on {evalCount} held-out problems: greedy, pass@1 and pass@16 " +
            "(16 samples at temperature 1), mean sampled length, KL to the SFT policy. Larger budgets, and the settings that " +
            "gain most, are in `docs/learning/note.md`.").AppendLine();
        r.AppendLine(LearnerComparison.ToMarkdown(results));
        run.Write();
    }

    static void AddEval(JsonObject s, string prefix, EvalResult eval)
    {
        s[$"{prefix}_greedy"] = eval.Greedy;
        foreach (var (k, v) in eval.PassAt) s[$"{prefix}_pass@{k}"] = v;
        foreach (var (k, v) in eval.MajorityAt) s[$"{prefix}_maj@{k}"] = v;
        s[$"{prefix}_decode_tokens_per_s"] = Math.Round(eval.GeneratedTokens / eval.Seconds);
    }
}
