using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Ponder.Learning;
using Ponder.Policy;
using Ponder.Tasks;
using static TorchSharp.torch;

namespace Ponder.Thinking;

/// <summary>
/// The "thinking" stage of <c>ponder demo</c>, also run alone by <c>ponder think stage</c>:
/// 1. token lengths of every trace style; 2. SFT from scratch on search traces and on optimal paths at equal training
/// tokens, held-out accuracy of both; 3. the thinking-budget sweep of both policies (hard cap, and cap + budget forcing)
/// against parallel sampling on the same token axis; 4. a short GRPO run on the trace policy with behaviour (length,
/// dead ends, backtracks, revisions) before and after. Writes its PNGs into <c>outDir</c> (the Markdown links them by file
/// name, so a report in <c>outDir</c> shows them) and its checkpoints under <c>outDir/think/</c>.
/// </summary>
/// <example>
/// From <c>ponder demo</c>: <c>var r = ThinkingStage.Run(outDir, quick, device, seed, new LineProgress("[think] "));</c>, then
/// copy <c>r.Summary</c>'s keys into summary.json and append <c>r.Markdown</c> to report.md.
/// </example>
public static class ThinkingStage
{
    /// <summary>Runs the stage at demo size (<paramref name="quick"/>: toy size).</summary>
    public static ThinkingStageResult Run(string outDir, bool quick, Device device, int seed = 1, IProgress<string>? progress = null) =>
        Run(outDir, quick ? ThinkingRecipe.Quick(seed) : ThinkingRecipe.Full(seed), device, progress);

    /// <param name="trainPair">
    /// Runs the two SFT runs (trace, then optimal path) and says whether it did; where it is null or did not, they run one
    /// after the other in this process. The CLI runs them side by side as two processes of one thread each: a policy this
    /// small trains no faster on two threads than on one, so that halves the stage's longest part.
    /// </param>
    public static ThinkingStageResult Run(string outDir, ThinkingRecipe recipe, Device device, IProgress<string>? progress = null,
        Func<IReadOnlyList<SftOptions>, bool>? trainPair = null)
    {
        ArgumentNullException.ThrowIfNull(recipe);
        Directory.CreateDirectory(outDir);
        var clock = Stopwatch.StartNew();
        var summary = new JsonObject();
        var tokenizer = new CharTokenizer();
        var inner = TaskRegistry.Create(recipe.Countdown);
        var traceTask = (ThinkingTask)TaskRegistry.Create(recipe.TraceTask);
        var optimalTask = (ThinkingTask)TaskRegistry.Create(recipe.OptimalTask);
        var report = new ThinkingReport(recipe);
        void Say(string line) => progress?.Report($"[think {clock.Elapsed.TotalSeconds:F0}s] {line}");

        // 1. Trace lengths.
        var lengths = TraceLengths.Measure(inner, traceTask.Options, Enum.GetValues<TraceStyle>(), tokenizer, 500, recipe.Seed);
        foreach (var row in lengths)
        {
            string name = ThinkingTaskSpec.StyleName(row.Style);
            summary[$"think_trace_len_{name}_mean"] = Math.Round(row.MeanTokens, 1);
            summary[$"think_trace_len_{name}_max"] = row.MaxTokens;
            summary[$"think_trace_dropped_{name}"] = row.Dropped / (double)row.Problems;
        }
        report.Lengths(lengths);

        // 2. SFT on traces vs optimal paths at equal training tokens.
        var traceSft = EqualTokenSft.Options(recipe.TraceTask, Path.Combine(outDir, "think", "trace-sft"), recipe, recipe.TrainTokens);
        var optimalSft = EqualTokenSft.Options(recipe.OptimalTask, Path.Combine(outDir, "think", "optimal-sft"), recipe, recipe.TrainTokens);
        Say($"SFT on {ThinkingTaskSpec.StyleName(recipe.Style)} traces: {traceSft.Steps} steps; on optimal paths: {optimalSft.Steps} steps ({recipe.TrainTokens:N0} tokens each)");
        if (trainPair?.Invoke([traceSft, optimalSft]) != true)
        {
            new SftTrainer(traceSft, device).Run();
            new SftTrainer(optimalSft, device).Run();
        }
        var trace = LoadedPolicy.Load(traceSft.Out, device);
        var optimal = LoadedPolicy.Load(optimalSft.Out, device);
        var problems = inner.Problems(Split.Test, recipe.EvalCount, 0);
        var greedy = new SamplingOptions { Temperature = 0 };
        var natural = new ThinkingBudget { MaxThinkingTokens = recipe.Model.MaxPositions };   // no cap but the context's room
        var room = ThinkingRoom.Of(tokenizer, recipe.Model.MaxPositions, problems, natural);
        double traceAcc = BudgetSweep.Sequential(trace.Model, tokenizer, traceTask, problems, [natural.MaxThinkingTokens], false, greedy)[0].Accuracy;
        double optimalAcc = BudgetSweep.Sequential(optimal.Model, tokenizer, optimalTask, problems, [natural.MaxThinkingTokens], false, greedy)[0].Accuracy;
        summary["think_task"] = inner.Name;
        summary["think_trace_style"] = ThinkingTaskSpec.StyleName(recipe.Style);
        summary["think_trace_fallback"] = recipe.Fallback.ToString().ToLowerInvariant();
        summary["think_trace_sft_acc"] = traceAcc;
        summary["think_optimal_sft_acc"] = optimalAcc;
        summary["think_trace_sft_tokens"] = trace.State.TokensSeen;
        summary["think_optimal_sft_tokens"] = optimal.State.TokensSeen;
        summary["think_sft_params"] = trace.Model.ParameterCount;
        summary["think_trace_minus_optimal"] = Math.Round(traceAcc - optimalAcc, 4);
        Say($"held-out greedy: trace SFT {traceAcc:P1}, optimal SFT {optimalAcc:P1}");
        report.Sft(traceSft, optimalSft, trace, optimal, traceAcc, optimalAcc, problems.Count, room);

        // 3. Thinking budget: sequential (cap, cap + forcing) vs parallel (samples) on the same token axis.
        var capCurve = BudgetSweep.Sequential(trace.Model, tokenizer, traceTask, problems, recipe.Budgets, false, greedy);
        var forcedCurve = BudgetSweep.Sequential(trace.Model, tokenizer, traceTask, problems, recipe.Budgets, true, greedy);
        var optimalCurve = BudgetSweep.Sequential(optimal.Model, tokenizer, optimalTask, problems, recipe.Budgets, false, greedy);
        var traceParallel = BudgetSweep.Parallel(trace.Model, tokenizer, traceTask, problems, recipe.ParallelSamples, natural, 1.0, recipe.Seed);
        var optimalParallel = BudgetSweep.Parallel(optimal.Model, tokenizer, optimalTask, problems, recipe.ParallelSamples, natural, 1.0, recipe.Seed);
        summary["think_budget_curve"] = Curve(capCurve);
        summary["think_budget_forced_curve"] = Curve(forcedCurve);
        summary["think_optimal_budget_curve"] = Curve(optimalCurve);
        summary["think_parallel_curve"] = Curve(traceParallel);
        summary["think_optimal_parallel_curve"] = Curve(optimalParallel);
        var best = capCurve.MaxBy(p => p.Accuracy)!;
        summary["think_best_budget"] = best.Accuracy > 0 ? best.Budget : null;   // the smallest budget reaching the highest accuracy
        var rise = BudgetRise.Of(capCurve);
        summary["think_budget_rise_low"] = rise?.Low;
        summary["think_budget_rise_high"] = rise?.High;
        summary["think_budget_rise_ratio"] = rise is null ? null : Math.Round(rise.Ratio, 2);
        summary["think_budget_rise_gain"] = rise is null ? null : Math.Round(rise.Gain, 4);
        Say($"budget sweep: {string.Join(", ", capCurve.Select(p => $"{p.Budget}→{p.Accuracy:P0}"))}");
        string budgetPng = Path.Combine(outDir, "think_budget.png");
        report.Budget(budgetPng, capCurve, forcedCurve, optimalCurve, traceParallel, optimalParallel, room);

        // 4. GRPO on the trace policy, behaviour before and after.
        var before = Behaviour(trace.Model, tokenizer, traceTask, problems, natural);
        var rl = new RlOptions
        {
            Policy = traceSft.Out, Out = Path.Combine(outDir, "think", "trace-grpo"), Task = recipe.TraceTask, Algorithm = RlAlgorithm.Grpo,
            Steps = recipe.RlSteps, PromptsPerStep = recipe.RlPrompts, GroupSize = recipe.RlGroup, Lr = recipe.RlLr, Warmup = Math.Min(10, recipe.RlSteps),
            EvalEvery = 0, EvalCount = Math.Min(16, recipe.EvalCount), CheckpointEvery = 0, Seed = recipe.Seed,
        };
        Say($"GRPO: {rl.Steps} batches of {rl.PromptsPerStep}×{rl.GroupSize} rollouts");
        new RlTrainer(rl, device).Run();
        var tuned = LoadedPolicy.Load(rl.Out, device);
        var after = Behaviour(tuned.Model, tokenizer, traceTask, problems, natural);
        foreach (var (tag, b) in new[] { ("before", before), ("after", after) })
        {
            summary[$"think_rl_acc_{tag}"] = b.Accuracy;
            summary[$"think_rl_thinking_tokens_{tag}"] = Math.Round(b.MeanThinkingTokens, 1);
            summary[$"think_rl_dead_ends_{tag}"] = Math.Round(b.DeadEndsPerCompletion, 3);
            summary[$"think_rl_backtracks_per_solution_{tag}"] = Math.Round(b.BacktracksPerSolution, 3);
            summary[$"think_rl_revised_{tag}"] = Math.Round(b.RevisedFraction, 3);
            summary[$"think_rl_invalid_line_rate_{tag}"] = Math.Round(b.InvalidLineRate, 4);
        }
        Say($"GRPO: held-out {before.Accuracy:P1} → {after.Accuracy:P1}, thinking tokens {before.MeanThinkingTokens:F0} → {after.MeanThinkingTokens:F0}");
        string rlPng = Path.Combine(outDir, "think_rl.png");
        report.Rl(rlPng, rl, MetricsLog.Read(Path.Combine(rl.Out, "metrics.jsonl")), before, after, room);
        summary["think_seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 1);
        return new ThinkingStageResult(summary, report.ToString(), [budgetPng, rlPng]);
    }

    /// <summary>Greedy completions under a budget, read for behaviour.</summary>
    public static BehaviourStats Behaviour(Transformer model, ITokenizer tokenizer, ThinkingTask task, IReadOnlyList<Problem> problems, ThinkingBudget budget)
    {
        var (results, _) = BudgetSweep.Run(model, tokenizer, problems, budget, new SamplingOptions { Temperature = 0 });
        return ThinkingBehaviour.Measure(task, tokenizer, problems, results.Select(r => r.Completion).ToList());
    }

    static JsonArray Curve(IEnumerable<BudgetPoint> points) => [.. points.Select(p => (JsonNode)new JsonObject
    {
        ["budget"] = p.Budget, ["accuracy"] = p.Accuracy, ["thinking_tokens"] = Math.Round(p.MeanThinkingTokens, 1),
        ["generated_tokens"] = Math.Round(p.MeanGeneratedTokens, 1), ["compute_tokens"] = Math.Round(p.MeanComputeTokens, 1),
        ["capped"] = Math.Round(p.CappedFraction, 3), ["forcings"] = Math.Round(p.MeanForcings, 3),
    })];

    static JsonArray Curve(IEnumerable<ParallelPoint> points) => [.. points.Select(p => (JsonNode)new JsonObject
    {
        ["k"] = p.K, ["pass_at_k"] = Math.Round(p.PassAtK, 4), ["maj_at_k"] = p.MajorityAtK is { } maj ? Math.Round(maj, 4) : null,
        ["generated_tokens"] = Math.Round(p.MeanGeneratedTokens, 1), ["compute_tokens"] = Math.Round(p.MeanComputeTokens, 1),
    })];
}
