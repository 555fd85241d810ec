using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Ponder.Policy;
using Ponder.Scaling;
using Ponder.Tasks;
using TorchSharp;
using static TorchSharp.torch;

namespace Ponder.Learning;

/// <summary>
/// Policy initialization: next-token cross-entropy on gold step-by-step solutions, loss on the
/// solution tokens only. AdamW, warmup + cosine, gradient clipping, held-out greedy accuracy every
/// EvalEvery steps, checkpoints every CheckpointEvery steps, and an exact <c>--resume</c>: batch k is
/// a pure function of (seed, k), and the optimizer state is saved with the weights.
/// </summary>
public sealed class SftTrainer(SftOptions options, Device device)
{
    /// <summary>Seed of the held-out problems evaluated during training (fixed, so curves compare across runs).</summary>
    public const int EvalSeed = 0;

    public void Run(IProgress<TrainProgress>? progress = null, CancellationToken cancel = default)
    {
        var o = options;
        var task = TaskRegistry.Create(o.Task);
        torch.manual_seed(o.Seed);
        var (model, tokenizer, startStep, tokensSeen) = Initialize(task);
        model.TrainingKernels = options.TrainingKernels;
        model.to(device);
        using var optimizer = SupervisedStep.Optimizer(model, o.WeightDecay);
        if (o.Resume && Checkpoint.ReadOptimizerState(o.Out) is { } saved)
            optimizer.Load(saved, Path.Combine(o.Out, "optimizer.safetensors"));
        var schedule = new LrSchedule(o.Lr, o.Warmup, o.Steps);
        var evalProblems = task.Problems(Split.Test, o.EvalCount, EvalSeed);
        using var metrics = new MetricsLog(Path.Combine(o.Out, "metrics.jsonl"), o.Resume ? startStep : null);

        var clock = Stopwatch.StartNew();
        long tokensThisRun = 0;
        double lastLoss = double.NaN;
        long step = startStep;
        while (step < o.Steps)
        {
            step++;
            double lr = schedule.At(step);

            // forward, backward, clip, step
            var (loss, gradNorm, tokens) = SupervisedStep.Run(model, optimizer, tokenizer, BatchExamples(task, o.Seed, step, o.BatchSize), lr, o.GradClip, o.Pack);
            lastLoss = loss;
            tokensThisRun += tokens;
            tokensSeen += tokens;
            double tps = tokensThisRun / Math.Max(1e-9, clock.Elapsed.TotalSeconds);
            metrics.Write(new JsonObject
            {
                ["step"] = step, ["loss"] = Math.Round(lastLoss, 5), ["lr"] = lr, ["grad_norm"] = Math.Round(gradNorm, 4),
                ["tokens_per_s"] = Math.Round(tps), ["tokens_seen"] = tokensSeen, ["elapsed_s"] = Math.Round(clock.Elapsed.TotalSeconds, 2),
            });
            progress?.Report(new TrainProgress(step, o.Steps, lastLoss, tps));

            bool last = step == o.Steps;
            bool outOfTime = o.MaxMinutes > 0 && clock.Elapsed.TotalMinutes >= o.MaxMinutes;
            if ((o.EvalEvery > 0 && step % o.EvalEvery == 0) || last || outOfTime)
            {
                double acc = Evaluator.GreedyAccuracy(model, tokenizer, task, evalProblems);
                metrics.Write(new JsonObject { ["step"] = step, ["eval_greedy"] = acc, ["eval_count"] = evalProblems.Count });
                progress?.Report(new TrainProgress(step, o.Steps, lastLoss, tokensThisRun / clock.Elapsed.TotalSeconds,
                    $"step {step}: held-out greedy accuracy {acc:P1} on {evalProblems.Count} problems"));
            }
            bool stop = cancel.IsCancellationRequested;                 // read once: a stop asked for is always saved
            if ((o.CheckpointEvery > 0 && step % o.CheckpointEvery == 0) || last || outOfTime || stop)
            {
                Save(model, tokenizer, optimizer, step, tokensSeen, lastLoss);
                progress?.Report(new TrainProgress(step, o.Steps, lastLoss, tokensThisRun / clock.Elapsed.TotalSeconds, $"step {step}: checkpoint saved to {o.Out}"));
            }
            if (stop) break;
            if (outOfTime)
            {
                progress?.Report(new TrainProgress(step, o.Steps, lastLoss, tokensThisRun / clock.Elapsed.TotalSeconds, $"stopped at step {step}: --max-minutes {o.MaxMinutes} reached"));
                break;
            }
        }
    }

    (Transformer Model, ITokenizer Tokenizer, long Step, long TokensSeen) Initialize(ITask task)
    {
        var o = options;
        if (o.Resume)
        {
            Resumption.Require(o.Out, "sft");
            var p = LoadedPolicy.Load(o.Out, CPU);
            if (p.State.Task != task.Name)
                throw new InvalidDataException($"checkpoint '{o.Out}': trained on task '{p.State.Task}', cannot resume it on '{task.Name}'");
            return (p.Model, p.Tokenizer, p.State.Step, p.State.TokensSeen);
        }
        if (o.Init is not null)
        {
            var p = LoadedPolicy.Load(o.Init, CPU);
            return (p.Model, p.Tokenizer, 0, 0);
        }
        var tokenizer = new CharTokenizer();
        var config = o.Model with
        {
            VocabSize = tokenizer.VocabSize, BosTokenId = tokenizer.Bos, EosTokenId = tokenizer.Eos, PadTokenId = tokenizer.Pad,
        };
        return (new Transformer(config), tokenizer, 0, 0);
    }

    /// <summary>Training batch <paramref name="step"/>: a pure function of (seed, step), which makes resume exact.</summary>
    public static List<(string Prompt, string Completion)> BatchExamples(ITask task, int seed, long step, int batchSize)
    {
        int batchSeed = Seeds.Mix(seed, step);
        var examples = new List<(string, string)>(batchSize);
        foreach (var problem in task.Problems(Split.Train, batchSize, batchSeed))
        {
            var gold = task.GoldSolution(problem);
            if (gold is not null) examples.Add((problem.Prompt, Solution.Join(gold)));
        }
        if (examples.Count == 0)
            throw new InvalidOperationException($"task '{task.Name}' gave no gold solutions to train on");
        return examples;
    }

    void Save(Transformer model, ITokenizer tokenizer, AdamW optimizer, long step, long tokensSeen, double loss)
    {
        var o = options;
        var state = new CheckpointState
        {
            Task = TaskRegistry.Create(o.Task).Name, Step = step, Seed = o.Seed, Kind = "policy", TokensSeen = tokensSeen,
            Metrics = new Dictionary<string, double> { ["loss"] = loss },
            Extra = new Dictionary<string, string>
            {
                ["trainer"] = "sft", ["total_steps"] = o.Steps.ToString(CultureInfo.InvariantCulture), ["lr"] = o.Lr.ToString("R", CultureInfo.InvariantCulture),
                ["batch_size"] = o.BatchSize.ToString(CultureInfo.InvariantCulture), ["warmup"] = o.Warmup.ToString(CultureInfo.InvariantCulture),
            },
            HasOptimizerState = true,
        };
        Checkpoint.Save(o.Out, model.Config, model, tokenizer, state, optimizer.State());
    }
}
