using System.Diagnostics;
using System.Text.Json.Nodes;
using Ponder.Policy;
using Ponder.Rewards;
using Ponder.Tasks;
using TorchSharp;
using static TorchSharp.torch;

namespace Ponder.Learning;

/// <summary>
/// Reward-model training. Labels: sample solutions from the policy on train problems and label them (Monte-Carlo
/// by default, gold as a baseline), cached to disk. Model: the policy's trunk and a zero-initialized scalar head.
/// Loss: binary cross-entropy with logits on the labelled reads only (every step end for a PRM, the last for an
/// ORM), soft targets allowed:
/// <code>
/// L = −mean over reads r of [ y_r · log σ(s_r) + (1 − y_r) · log(1 − σ(s_r)) ]
/// </code>
/// AdamW, warmup + cosine, gradient clipping; batch k is a pure function of (seed, k) and the optimizer state is
/// saved with the weights, so <c>--resume</c> is exact. Held-out evaluation on the samples of validation problems.
/// </summary>
public sealed class RewardTrainer(RewardTrainerOptions options, Device device)
{
    public RewardTrainResult Run(IProgress<TrainProgress>? progress = null, CancellationToken cancel = default)
    {
        var o = options;
        if (o.Resume) Resumption.Require(o.Out, o.Kind == RewardModelKind.Orm ? "orm" : "prm", needsOptimizerState: false);
        var clock = Stopwatch.StartNew();
        var task = TaskRegistry.Create(o.Task);
        torch.manual_seed(o.Seed);
        string policyId = PolicyIdentity.Of(o.Policy);
        var policy = LoadedPolicy.Load(o.Policy, device);
        var (labels, reused) = LabelCache.LoadOrCreate(o.LabelPath,
            // Gold labels have no k (their header says 0), and an ORM needs only outcomes: either takes a file of any k.
            new LabelRequest(LabelTask.Of(task), policyId, o.Labels, o.Kind == RewardModelKind.Orm || o.Labels == LabelSource.Gold ? null : o.Labelling.K,
                o.Labelling.Seed, o.Labelling.Problems, o.Labelling.Samples, o.Labelling.Temperature, o.Labelling.MaxSteps),
            () => MakeLabels(policy, task, policyId, progress));
        Report(progress, 0, $"labels: {labels.Solutions.Count} solutions {(reused ? "reused from" : "written to")} {o.LabelPath} " +
            $"(cost when made: {labels.Header.Cost.SampledTokens + labels.Header.Cost.RolloutTokens} tokens decoded, {labels.Header.Cost.Seconds:F1}s)");

        var (train, validation) = SplitByProblem(labels.Solutions, o.ValidationFraction);
        int window = policy.Model.Config.MaxPositions;
        var trainExamples = train.Select(s => RewardExample.From(s, policy.Tokenizer, o.Kind, o.Target, window)).OfType<RewardExample>().ToList();
        var validExamples = validation.Select(s => RewardExample.From(s, policy.Tokenizer, o.Kind, o.Target, window)).OfType<RewardExample>().ToList();
        if (trainExamples.Count == 0) throw new InvalidOperationException($"{o.LabelPath}: no labelled solution with a step to train on");

        var (model, startStep) = Initialize(policy, task);
        model.TrainingKernels = o.TrainingKernels;
        policy.Model.Dispose();
        var tokenizer = policy.Tokenizer;
        using var optimizer = new AdamW(model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => (p.name, (Tensor)p.parameter)), weightDecay: o.WeightDecay);
        if (o.Resume && Checkpoint.ReadOptimizerState(o.Out) is { } saved) optimizer.Load(saved, Path.Combine(o.Out, Checkpoint.OptimizerFile));
        var schedule = new LrSchedule(o.Lr, o.Warmup, o.Steps);
        using var metrics = new MetricsLog(Path.Combine(o.Out, "metrics.jsonl"), o.Resume ? startStep : null);

        var (validLoss, validAuc) = (double.NaN, double.NaN);
        double lastLoss = double.NaN;
        long tokensThisRun = 0;
        var trainClock = Stopwatch.StartNew();
        long step = startStep;
        while (step < o.Steps)
        {
            step++;
            double lr = schedule.At(step);

            // forward, backward, clip, step
            model.train();
            using (var scope = NewDisposeScope())
            {
                var (ids, starts, rows, positions, targets) = RewardExample.Batch(BatchOf(trainExamples, o.Seed, step, o.BatchSize), tokenizer.Pad, device);
                var logits = model.ScoresAt(ids, starts, rows, positions);                       // (N)
                var loss = nn.functional.binary_cross_entropy_with_logits(logits, targets);
                loss.backward();
                double gradNorm = nn.utils.clip_grad_norm_(model.parameters(), o.GradClip);
                optimizer.Update(lr);
                optimizer.ZeroGrad();
                lastLoss = loss.item<float>();
                tokensThisRun += ids.ne(tokenizer.Pad).sum().item<long>();
                double tps = tokensThisRun / Math.Max(1e-9, trainClock.Elapsed.TotalSeconds);
                metrics.Write(new JsonObject
                {
                    ["step"] = step, ["loss"] = Math.Round(lastLoss, 5), ["lr"] = lr, ["grad_norm"] = Math.Round(gradNorm, 4),
                    ["reads"] = targets.shape[0], ["tokens_per_s"] = Math.Round(tps), ["elapsed_s"] = Math.Round(clock.Elapsed.TotalSeconds, 2),
                });
                progress?.Report(new TrainProgress(step, o.Steps, lastLoss, tps));
            }

            bool last = step == o.Steps;
            bool outOfTime = o.MaxMinutes > 0 && clock.Elapsed.TotalMinutes >= o.MaxMinutes;
            if (validExamples.Count > 0 && ((o.EvalEvery > 0 && step % o.EvalEvery == 0) || last || outOfTime))
            {
                (validLoss, validAuc) = Validate(model, validExamples, tokenizer.Pad);
                metrics.Write(new JsonObject { ["step"] = step, ["val_loss"] = Math.Round(validLoss, 5), ["val_auc"] = double.IsFinite(validAuc) ? Math.Round(validAuc, 4) : null, ["val_solutions"] = validExamples.Count });
                Report(progress, step, $"step {step}: held-out loss {validLoss:F4}, AUC {validAuc:F3} against {(o.Kind == RewardModelKind.Orm ? "outcomes" : $"hard {o.Labels} labels")} ({validExamples.Count} solutions)");
            }
            bool stop = cancel.IsCancellationRequested;                 // read once: a stop asked for is always saved
            if ((o.CheckpointEvery > 0 && step % o.CheckpointEvery == 0) || last || outOfTime || stop)
                Save(model, tokenizer, optimizer, task, policyId, step, lastLoss, validAuc);
            if (outOfTime) { Report(progress, step, $"stopped at step {step}: --max-minutes {o.MaxMinutes} reached"); break; }
            if (stop) { Report(progress, step, $"stopped at step {step}: a checkpoint saved (--resume continues it)"); break; }
        }
        model.Dispose();
        return new RewardTrainResult(labels.Header, reused, trainExamples.Count, validExamples.Count, validLoss, validAuc, clock.Elapsed.TotalSeconds);
    }

    LabelSet MakeLabels(LoadedPolicy policy, ITask task, string policyId, IProgress<TrainProgress>? progress)
    {
        var generator = new Policy.Generator(policy.Model, policy.Tokenizer);
        var lines = new Progress(line => Report(progress, 0, line));
        return options.Labels == LabelSource.Mc
            ? new MonteCarloLabeler(generator, task, options.Labelling).Label(policyId, lines)
            : GoldLabeler.Label(generator, task, options.Labelling, policyId);
    }

    (RewardModel Model, long Step) Initialize(LoadedPolicy policy, ITask task)
    {
        var o = options;
        if (!o.Resume) return (RewardModel.FromPolicy(policy.Model, o.LikelihoodFeatures), 0);
        var rm = LoadedRewardModel.Load(o.Out, device);
        if (rm.Kind != o.Kind) throw new InvalidDataException($"checkpoint '{o.Out}': is {LoadedRewardModel.KindName(rm.Kind)}, cannot resume it as {LoadedRewardModel.KindName(o.Kind)}");
        if (rm.State.Task != task.Name) throw new InvalidDataException($"checkpoint '{o.Out}': trained on task '{rm.State.Task}', cannot resume it on '{task.Name}'");
        rm.RequireSameVocabulary(policy.Tokenizer, o.Policy);
        if (!o.LikelihoodFeatures) rm.Model.FreezeLikelihood();
        return (rm.Model, rm.State.Step);
    }

    /// <summary>Batch <paramref name="step"/> (1-based): a slice of the epoch's seeded permutation, a pure function of (seed, step).</summary>
    static List<RewardExample> BatchOf(IReadOnlyList<RewardExample> examples, int seed, long step, int batchSize)
    {
        var batch = new List<RewardExample>(batchSize);
        var orders = new Dictionary<long, int[]>();
        for (long i = (step - 1) * batchSize; i < step * batchSize; i++)
        {
            long epoch = i / examples.Count;
            if (!orders.TryGetValue(epoch, out var order))
            {
                order = Enumerable.Range(0, examples.Count).ToArray();
                new Random(Seeds.Mix(seed, epoch)).Shuffle(order);
                orders[epoch] = order;
            }
            batch.Add(examples[order[i % examples.Count]]);
        }
        return batch;
    }

    /// <summary>The last <paramref name="fraction"/> of distinct problems (in drawing order) are held out with all their samples.</summary>
    static (List<LabeledSolution> Train, List<LabeledSolution> Validation) SplitByProblem(IReadOnlyList<LabeledSolution> solutions, double fraction)
    {
        var ids = solutions.Select(s => s.Problem.Id).Distinct().ToList();
        var held = ids.Skip(ids.Count - (int)Math.Floor(ids.Count * fraction)).ToHashSet();
        return (solutions.Where(s => !held.Contains(s.Problem.Id)).ToList(), solutions.Where(s => held.Contains(s.Problem.Id)).ToList());
    }

    static (double Loss, double Auc) Validate(RewardModel model, IReadOnlyList<RewardExample> examples, int pad)
    {
        model.eval();
        var (scores, labels) = (new List<double>(), new List<bool>());
        double lossSum = 0;
        using var noGrad = no_grad();
        foreach (var chunk in examples.Chunk(64))
        {
            using var scope = NewDisposeScope();
            var (ids, starts, rows, positions, targets) = RewardExample.Batch(chunk, pad, model.Device);
            var logits = model.ScoresAt(ids, starts, rows, positions);                              // (N)
            lossSum += nn.functional.binary_cross_entropy_with_logits(logits, targets, reduction: nn.Reduction.Sum).item<float>();
            scores.AddRange(logits.to(ScalarType.Float64).cpu().data<double>().ToArray());
            labels.AddRange(targets.cpu().data<float>().ToArray().Select(t => t > 0));
        }
        return (lossSum / scores.Count, Classification.RocAuc(scores, labels));
    }

    void Save(RewardModel model, ITokenizer tokenizer, AdamW optimizer, ITask task, string policyId, long step, double loss, double validAuc)
    {
        var o = options;
        var extra = new Dictionary<string, string>
        {
            [LoadedRewardModel.PolicyKey] = Path.GetFullPath(o.Policy), [LoadedRewardModel.PolicyIdKey] = policyId,
            ["labels"] = o.Labels.ToString().ToLowerInvariant(), ["target"] = o.Target.ToString().ToLowerInvariant(),
            ["label_cache"] = Path.GetFullPath(o.LabelPath), ["total_steps"] = o.Steps.ToString(), ["lr"] = o.Lr.ToString("R"), ["batch_size"] = o.BatchSize.ToString(),
        };
        Resumption.KeepCommand(extra, o.Command);
        var state = new CheckpointState
        {
            Task = task.Name, Step = step, Seed = o.Seed, Kind = LoadedRewardModel.KindName(o.Kind),
            Metrics = new Dictionary<string, double> { ["loss"] = loss, ["val_auc"] = validAuc }, Extra = extra,
        };
        LoadedRewardModel.Save(o.Out, model, tokenizer, state, optimizer.State());
    }

    static void Report(IProgress<TrainProgress>? progress, long step, string message) =>
        progress?.Report(new TrainProgress(step, 0, double.NaN, 0, message));

    /// <summary>Forwards lines synchronously (unlike <see cref="Progress{T}"/>, which posts to the thread pool).</summary>
    sealed class Progress(Action<string> report) : IProgress<string>
    {
        public void Report(string value) => report(value);
    }
}
