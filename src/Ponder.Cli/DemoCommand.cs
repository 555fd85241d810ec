using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Ponder.Learning;
using Ponder.Policy;
using Ponder.Scaling;
using Ponder.Tasks;

namespace Ponder.Cli;

/// <summary>
/// <c>ponder demo</c>, the main job: from nothing, train the default policy, evaluate it, and write
/// <c>runs/demo/report.md</c> (with PNGs) and <c>runs/demo/summary.json</c> with every headline figure.
/// Each stage prints its wall time. <c>--quick</c> runs every stage at toy size.
/// </summary>
public static class DemoCommand
{
    public const string Usage = """
        ponder demo [--quick] [--out DIR] [--seed S] [--device cpu|cuda]
          full: about 15 minutes on 2 cores; --quick: every stage at toy size in about a minute
        """;

    public static int Run(string[] args)
    {
        var o = new Options("demo", args);
        bool quick = o.Flag("quick");
        string outDir = o.String("out", "runs/demo")!;
        int seed = o.Int("seed", 1);
        string deviceName = o.String("device", "cpu")!;
        var device = TorchRuntime.Initialize(deviceName);
        o.Done();

        Directory.CreateDirectory(outDir);
        var summary = new JsonObject { ["mode"] = quick ? "quick" : "full", ["seed"] = seed, ["device"] = deviceName };
        var stages = new JsonObject();
        var report = new StringBuilder();
        var total = Stopwatch.StartNew();
        string command = $"./ponder demo{(quick ? " --quick" : "")} --seed {seed}";
        report.AppendLine("# Ponder demo report").AppendLine();
        report.AppendLine($"Made by `{command}` on {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC ({Environment.ProcessorCount} cores, device {deviceName}). Every figure below comes from this run.").AppendLine();

        // Stage 1: policy initialization (SFT from scratch on gold solutions).
        var sft = (quick ? SftPresets.Quick(Path.Combine(outDir, "policy"), seed) : SftPresets.Default(Path.Combine(outDir, "policy"), seed));
        Stage("sft", stages, () => new SftTrainer(sft, device).Run(new ConsoleProgress("sft")));
        var policy = LoadedPolicy.Load(sft.Out, device);
        var task = TaskRegistry.Create(sft.Task);
        var metrics = MetricsLog.Read(Path.Combine(sft.Out, "metrics.jsonl"));
        PlotTraining(metrics, Path.Combine(outDir, "training.png"));
        var trainRows = metrics.Where(r => r.ContainsKey("loss")).ToList();
        double finalLoss = trainRows.TakeLast(50).Average(r => r["loss"]!.GetValue<double>());
        double trainTps = trainRows[^1]["tokens_per_s"]!.GetValue<double>();
        summary["task"] = task.Name;
        summary["sft_params"] = policy.Model.ParameterCount;
        summary["sft_steps"] = policy.State.Step;
        summary["sft_final_loss"] = Math.Round(finalLoss, 4);
        summary["sft_train_tokens_per_s"] = trainTps;

        // Stage 2: evaluation of the SFT policy.
        var evalOptions = new EvalOptions { Count = quick ? 50 : 200, Samples = quick ? 8 : 64, Temperature = 1.0, Seed = 0 };
        EvalResult eval = null!;
        Stage("eval", stages, () => eval = Evaluator.Run(policy.Model, policy.Tokenizer, task, evalOptions, new LineProgress("[eval] ")));
        File.WriteAllText(Path.Combine(outDir, "eval.json"), eval.ToJson().ToJsonString(JsonText.Indented));
        summary["sft_greedy"] = eval.Greedy;
        foreach (var (k, v) in eval.PassAt) summary[$"sft_pass@{k}"] = v;
        foreach (var (k, v) in eval.MajorityAt) summary[$"sft_maj@{k}"] = v;
        summary["sft_decode_tokens_per_s"] = Math.Round(eval.GeneratedTokens / eval.Seconds);
        int kMax = eval.Samples;
        double headroom = eval.PassAt[kMax] - eval.Greedy;
        summary[$"sft_headroom_pass@{kMax}_minus_greedy"] = Math.Round(headroom, 4);

        report.AppendLine("## Policy initialization").AppendLine();
        report.AppendLine($"Task `{task.Name}`; example problem and gold solution:").AppendLine();
        var example = task.Problems(Split.Test, 1, 0)[0];
        report.AppendLine("```").Append(example.Prompt).AppendLine(Solution.Join(task.GoldSolution(example) ?? [])).AppendLine("```").AppendLine();
        var c = policy.Model.Config;
        report.AppendLine($"Model: Llama architecture, hidden {c.HiddenSize}, {c.NumLayers} layers, {c.NumHeads} heads ({c.NumKvHeads} KV heads), " +
            $"SwiGLU {c.IntermediateSize}, {policy.Model.ParameterCount:N0} parameters. Trained from scratch: {policy.State.Step} steps of {sft.BatchSize} solutions, " +
            $"peak learning rate {sft.Lr}, seed {seed}, {trainTps:N0} training tokens/s; final loss {finalLoss:F4}.").AppendLine();
        report.AppendLine("![training curve](training.png)").AppendLine();
        report.AppendLine("## Evaluation of the SFT policy").AppendLine();
        report.AppendLine($"{eval.Count} held-out problems (test split, seed {eval.Seed}); {eval.Samples} samples each at temperature {eval.Temperature}. " +
            $"pass@k is the unbiased estimator; maj@k averages majority vote over disjoint groups of k samples.").AppendLine();
        report.AppendLine(eval.ToMarkdown()).AppendLine();
        report.AppendLine($"Headroom for search and RL: pass@{kMax} − greedy = {headroom:P1}. Decode: {eval.GeneratedTokens:N0} tokens in {eval.Seconds:F1}s.").AppendLine();

        summary["stage_seconds"] = stages;
        summary["total_seconds"] = Math.Round(total.Elapsed.TotalSeconds, 1);
        report.AppendLine("## Stage times").AppendLine().AppendLine("| stage | seconds |").AppendLine("|---|---|");
        foreach (var (name, secs) in stages) report.AppendLine($"| {name} | {secs} |");
        report.AppendLine($"| total | {total.Elapsed.TotalSeconds:F0} |");
        File.WriteAllText(Path.Combine(outDir, "report.md"), report.ToString());
        File.WriteAllText(Path.Combine(outDir, "summary.json"), summary.ToJsonString(JsonText.Indented));
        Console.WriteLine($"demo done in {total.Elapsed.TotalSeconds:F0}s: {Path.Combine(outDir, "report.md")}, {Path.Combine(outDir, "summary.json")}");
        Console.WriteLine($"SFT policy: greedy {eval.Greedy:P1}, pass@{kMax} {eval.PassAt[kMax]:P1}, maj@{kMax} {eval.MajorityAt[kMax]:P1}");
        return 0;
    }

    static void Stage(string name, JsonObject stages, Action action)
    {
        Console.WriteLine($"== stage {name} ==");
        var clock = Stopwatch.StartNew();
        action();
        double secs = Math.Round(clock.Elapsed.TotalSeconds, 1);
        stages[name] = secs;
        Console.WriteLine($"== stage {name} done in {secs.ToString(CultureInfo.InvariantCulture)}s ==");
    }

    static void PlotTraining(List<JsonObject> metrics, string path)
    {
        var train = metrics.Where(r => r.ContainsKey("loss")).ToList();
        var evals = metrics.Where(r => r.ContainsKey("eval_greedy")).ToList();
        Plots.Lines(path, "Policy initialization (SFT)", "step", "training loss",
            [new Series("loss", train.Select(r => r["step"]!.GetValue<double>()).ToList(), train.Select(r => r["loss"]!.GetValue<double>()).ToList())],
            "held-out greedy accuracy",
            [new Series("held-out greedy accuracy", evals.Select(r => r["step"]!.GetValue<double>()).ToList(), evals.Select(r => r["eval_greedy"]!.GetValue<double>()).ToList())]);
    }
}
