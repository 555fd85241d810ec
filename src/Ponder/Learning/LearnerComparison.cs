using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Ponder.Policy;
using Ponder.Scaling;
using Ponder.Tasks;
using static TorchSharp.torch;

namespace Ponder.Learning;

/// <summary>One learner's result in <see cref="LearnerComparison"/>.</summary>
public sealed record LearnerResult(string Learner, long Rollouts, double Seconds, double Greedy, double PassAt1, double PassAt16,
    double MeanLength, double KlToStart);

/// <summary>
/// Every learner from the same start at (about) the same rollout budget — REINFORCE, RLOO, GRPO, PPO,
/// expert iteration, DPO — then the same held-out measurements: greedy, pass@1 and pass@16 (16
/// samples at temperature 1), mean sampled length, and the KL to the start policy.
/// </summary>
public static class LearnerComparison
{
    public static IReadOnlyList<LearnerResult> Run(string policyDir, string outDir, int rolloutBudget, int evalCount, Device device,
        IProgress<string>? progress = null, int seed = 1)
    {
        var start = LoadedPolicy.Load(policyDir, device);
        var task = TaskRegistry.Create(start.State.Task);
        const int prompts = 16, group = 8;
        int rlSteps = Math.Max(1, rolloutBudget / (prompts * group));
        var results = new List<LearnerResult> { Measure("start (SFT)", policyDir, start, task, 0, 0, evalCount, device, seed) };
        progress?.Report(Row(results[^1]));

        foreach (var algorithm in Enum.GetValues<RlAlgorithm>())
        {
            string name = algorithm.ToString().ToLowerInvariant();
            var o = new RlOptions
            {
                Policy = policyDir, Out = Path.Combine(outDir, name), Algorithm = algorithm, Steps = rlSteps, PromptsPerStep = prompts,
                GroupSize = group, EpochsPerBatch = algorithm == RlAlgorithm.Ppo ? 2 : 1, EvalEvery = Math.Max(1, rlSteps / 4),
                EvalCount = evalCount, CheckpointEvery = 0, Seed = seed,
            };
            var clock = Stopwatch.StartNew();
            new RlTrainer(o, device).Run();
            results.Add(Measure(name, o.Out, start, task, rlSteps * prompts * group, clock.Elapsed.TotalSeconds, evalCount, device, seed));
            progress?.Report(Row(results[^1]));
        }
        {
            const int rounds = 3, samples = 8;
            var o = new ExpertIterationOptions
            {
                Policy = policyDir, Out = Path.Combine(outDir, "expert-iteration"), Rounds = rounds, SamplesPerProblem = samples,
                ProblemsPerRound = Math.Max(1, rolloutBudget / (rounds * samples)), StepsPerRound = Math.Max(10, rlSteps / rounds),
                EvalCount = evalCount, Seed = seed,
                // the protocol of the measured comparison table: each round continues the last model on its own solutions
                KeepPerProblem = 2, Epochs = null, Restart = ExpertRestart.Continue, Accumulate = false,
            };
            var clock = Stopwatch.StartNew();
            new ExpertIteration(o, device).Run();
            results.Add(Measure("expert iteration", o.Out, start, task, (long)rounds * o.ProblemsPerRound * samples, clock.Elapsed.TotalSeconds, evalCount, device, seed));
            progress?.Report(Row(results[^1]));
        }
        {
            var o = new DpoOptions
            {
                Policy = policyDir, Out = Path.Combine(outDir, "dpo"), Steps = rlSteps, ProblemsPerStep = prompts, SamplesPerProblem = group,
                EvalEvery = Math.Max(1, rlSteps / 4), EvalCount = evalCount, Seed = seed,
            };
            var clock = Stopwatch.StartNew();
            new DpoTrainer(o, device).Run();
            results.Add(Measure("dpo", o.Out, start, task, rlSteps * prompts * group, clock.Elapsed.TotalSeconds, evalCount, device, seed));
            progress?.Report(Row(results[^1]));
        }
        AtomicFile.Write(Path.Combine(outDir, "comparison.md"), ToMarkdown(results));
        AtomicFile.Write(Path.Combine(outDir, "comparison.json"), new JsonArray(results.Select(r => (JsonNode)new JsonObject
        {
            ["learner"] = r.Learner, ["rollouts"] = r.Rollouts, ["seconds"] = Math.Round(r.Seconds, 1), ["greedy"] = r.Greedy,
            ["pass@1"] = r.PassAt1, ["pass@16"] = r.PassAt16, ["mean_length"] = Math.Round(r.MeanLength, 2), ["kl_to_start"] = Math.Round(r.KlToStart, 4),
        }).ToArray()).ToJsonString(JsonText.Indented));
        start.Model.Dispose();
        return results;
    }

    static LearnerResult Measure(string name, string dir, LoadedPolicy start, ITask task, long rollouts, double seconds, int evalCount, Device device, int seed)
    {
        var p = LoadedPolicy.Load(dir, device);
        var eval = Evaluator.Run(p.Model, p.Tokenizer, task, new EvalOptions { Count = evalCount, Samples = 16, Seed = 0 });
        var problems = task.Problems(Split.Test, evalCount, 0);
        int maxNew = Evaluator.MaxNewTokens(p.Tokenizer, task, problems, p.Model.Config.MaxPositions);
        double kl = KlToReference.Estimate(p.Model, start.Model, p.Tokenizer, problems, maxNew, Seeds.Mix(seed, 77));
        p.Model.Dispose();                                               // six learners in one process: each model freed when measured
        return new LearnerResult(name, rollouts, seconds, eval.Greedy, eval.PassAt[1], eval.PassAt[16], eval.MeanSampleTokens, kl);
    }

    static string Row(LearnerResult r) =>
        $"| {r.Learner} | {r.Rollouts:N0} | {r.Seconds:F0} | {r.Greedy:P1} | {r.PassAt1:P1} | {r.PassAt16:P1} | {r.MeanLength:F1} | {r.KlToStart:F3} |";

    public static string ToMarkdown(IReadOnlyList<LearnerResult> results)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| learner | rollouts | seconds | greedy | pass@1 | pass@16 | mean length (tokens) | KL to start (nats/seq) |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|");
        foreach (var r in results) sb.AppendLine(Row(r));
        return sb.ToString();
    }
}
