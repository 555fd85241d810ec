using System.Diagnostics;
using System.Text.Json.Nodes;
using Ponder.Policy;
using Ponder.Search;
using Ponder.Tasks;
using TorchSharp;
using static TorchSharp.torch;

namespace Ponder.Learning;

/// <summary>
/// Trains a reviser for sequential revision: the policy attempts train-split problems once each; every wrong attempt
/// becomes a pair (problem + wrong attempt + <c>revise:</c> → the gold solution), and the reviser — initialised from
/// the policy, with a longer context when asked — learns those pairs by supervised fine-tuning (loss on the solution
/// tokens only), AdamW with warmup and cosine decay, gradient clipping at 1. Metrics go to <c>metrics.jsonl</c>; the checkpoint's kind is "reviser".
/// </summary>
public sealed class RevisionTrainer(RevisionOptions options, Device device)
{
    /// <summary>Trains and saves the reviser; returns the number of (wrong attempt → gold) pairs it learned from.</summary>
    public int Run(IProgress<TrainProgress>? progress = null)
    {
        var o = options;
        torch.manual_seed(o.Seed);
        var policyPositions = Interop.HfCheckpoint.ReadConfig(o.Init).MaxPositions;
        var policy = o.Context is { } context ? LoadedPolicy.Load(o.Init, device, context) : LoadedPolicy.Load(o.Init, device);
        var task = TaskRegistry.Create(o.Task ?? policy.State.Task);
        var (pairs, wrong, maxNew) = Pairs(policy, task, policyPositions);
        if (wrong == 0) throw new InvalidOperationException($"the policy at '{o.Init}' made no wrong attempt on {o.Problems} problems: nothing to revise");
        if (pairs.Count == 0)
            throw new InvalidOperationException($"the policy at '{o.Init}' made {wrong} wrong attempts on {o.Problems} problems, but no revision prompt "
                + $"(problem + attempt + 'revise:') leaves room for {maxNew} new tokens in its {policy.Model.Config.MaxPositions} positions: give the reviser a longer --context");
        progress?.Report(new TrainProgress(0, o.Steps, double.NaN, 0, $"{pairs.Count} wrong attempts of {o.Problems} become revision pairs"));

        var model = policy.Model;
        model.TrainingKernels = o.TrainingKernels;
        using var optimizer = new AdamW(model.named_parameters().Select(p => (p.name, (Tensor)p.parameter)));
        var schedule = new LrSchedule(o.Lr, o.Warmup, o.Steps);
        Directory.CreateDirectory(o.Out);
        using var metrics = new MetricsLog(Path.Combine(o.Out, "metrics.jsonl"), null);
        var random = new Random(o.Seed);
        var clock = Stopwatch.StartNew();
        double loss = double.NaN;
        model.train();
        for (int step = 1; step <= o.Steps; step++)
        {
            using var scope = NewDisposeScope();
            var batch = Enumerable.Range(0, o.BatchSize).Select(_ => pairs[random.Next(pairs.Count)]).ToList();
            loss = SupervisedStep.Run(model, optimizer, policy.Tokenizer, batch, schedule.At(step), gradClip: 1.0, o.Pack).Loss;
            metrics.Write(new JsonObject { ["step"] = step, ["loss"] = Math.Round(loss, 5), ["elapsed_s"] = Math.Round(clock.Elapsed.TotalSeconds, 2) });
            progress?.Report(new TrainProgress(step, o.Steps, loss, 0));
        }
        model.eval();
        var state = policy.State with
        {
            Task = task.Name, Step = o.Steps, Seed = o.Seed, Kind = "reviser",
            Metrics = new Dictionary<string, double> { ["loss"] = loss, ["pairs"] = pairs.Count },
            Extra = new Dictionary<string, string> { ["init"] = o.Init, ["prompt"] = "problem + attempt + 'revise:'" },
            HasOptimizerState = false,
        };
        Checkpoint.Save(o.Out, model.Config, model, policy.Tokenizer, state, null);
        return pairs.Count;
    }

    /// <summary>
    /// (revision prompt, gold solution) for every wrong attempt of the policy whose prompt leaves room for the tokens a
    /// revision may write; the number of wrong attempts; that room. The attempts are the policy's as it runs within its
    /// own <paramref name="policyPositions"/>, whatever context the reviser gets.
    /// </summary>
    private (List<(string Prompt, string Completion)> Pairs, int Wrong, int MaxNew) Pairs(LoadedPolicy policy, ITask task, int policyPositions)
    {
        var problems = task.Problems(Split.Train, options.Problems, Seeds.Mix(options.Seed, 7));
        var generator = new Ponder.Policy.Generator(policy.Model, policy.Tokenizer);
        int maxNew = Scaling.Evaluator.MaxNewTokens(policy.Tokenizer, task, problems, policyPositions);
        var pairs = new List<(string, string)>();
        int chunkIndex = 0, wrong = 0;
        foreach (var chunk in problems.Chunk(128))
        {
            var sampling = new SamplingOptions { Temperature = options.Temperature, MaxNewTokens = maxNew, Seed = Seeds.Mix(options.Seed, chunkIndex++) };
            var attempts = generator.Generate(chunk.Select(p => Prompting.Encode(policy.Tokenizer, p.Prompt)).ToList(), sampling);
            for (int i = 0; i < chunk.Length; i++)
            {
                if (task.Check(chunk[i], attempts[i].Text).Correct || task.GoldSolution(chunk[i]) is not { } gold) continue;
                wrong++;
                var prompt = RevisionPrompt.Build(chunk[i], attempts[i].Text).Prompt;
                if (Prompting.Encode(policy.Tokenizer, prompt).Length + maxNew <= policy.Model.Config.MaxPositions) pairs.Add((prompt, Solution.Join(gold)));
            }
        }
        return (pairs, wrong, maxNew);
    }
}
