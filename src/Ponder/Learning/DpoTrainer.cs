// Direct preference optimization (Rafailov et al. 2023) on verifier-labelled pairs:
//   L = −log σ(β · [(log π(y_w|x) − log π_ref(y_w|x)) − (log π(y_l|x) − log π_ref(y_l|x))])
// where y_w is a correct and y_l an incorrect solution of the same problem, log π sums the
// completion tokens' log-probabilities, and π_ref is the frozen start policy.
// Simplification: pairs are drawn online from the current policy each step (on-policy DPO), one
// pair per problem that has both a right and a wrong sample.
using System.Text.Json.Nodes;
using Ponder.Policy;
using Ponder.Scaling;
using Ponder.Tasks;
using static TorchSharp.torch;

namespace Ponder.Learning;

/// <param name="taskOverride">A task object to use instead of the registry's (tests use toy tasks).</param>
public sealed class DpoTrainer(DpoOptions options, Device device, ITask? taskOverride = null)
{
    public void Run(IProgress<TrainProgress>? progress = null)
    {
        var o = options;
        var policy = LoadedPolicy.Load(o.Policy, device);
        var reference = LoadedPolicy.Load(o.Policy, device);
        var task = taskOverride ?? TaskRegistry.Create(o.Task ?? policy.State.Task);
        var (model, tokenizer) = (policy.Model, policy.Tokenizer);
        model.TrainingKernels = o.TrainingKernels;
        var optimizer = SupervisedStep.Optimizer(model, weightDecay: 0);
        var generator = new Policy.Generator(model, tokenizer);
        var evalProblems = task.Problems(Split.Test, o.EvalCount, SftTrainer.EvalSeed);
        int maxNew = Evaluator.MaxNewTokens(tokenizer, task, task.Problems(Split.Train, 64, o.Seed), model.Config.MaxPositions);
        using var metrics = new MetricsLog(Path.Combine(o.Out, "metrics.jsonl"));
        metrics.Write(new JsonObject { ["step"] = 0, ["eval_greedy"] = Evaluator.GreedyAccuracy(model, tokenizer, task, evalProblems) });

        for (int step = 1; step <= o.Steps; step++)
        {
            // 1. Pairs: sample, let the verifier split right from wrong.
            var problems = task.Problems(Split.Train, o.ProblemsPerStep, Seeds.Mix(o.Seed, step));
            var rows = problems.SelectMany(p => Enumerable.Repeat(p, o.SamplesPerProblem)).ToList();
            model.eval();
            var gens = generator.Generate(rows.Select(p => Prompting.Encode(tokenizer, p.Prompt)).ToList(),
                new SamplingOptions { Temperature = o.Temperature, MaxNewTokens = maxNew, Seed = Seeds.Mix(o.Seed + 7919, step) });
            var chosen = new List<(Problem, Generation)>();
            var rejected = new List<(Problem, Generation)>();
            for (int i = 0; i < problems.Count; i++)
            {
                var group = Enumerable.Range(i * o.SamplesPerProblem, o.SamplesPerProblem).Select(j => gens[j]).ToList();
                var right = group.FirstOrDefault(g => task.Check(problems[i], g.Text).Correct);
                var wrong = group.FirstOrDefault(g => !task.Check(problems[i], g.Text).Correct);
                if (right is null || wrong is null) continue;
                chosen.Add((problems[i], right));
                rejected.Add((problems[i], wrong));
            }
            if (chosen.Count == 0) { metrics.Write(new JsonObject { ["step"] = step, ["pairs"] = 0 }); continue; }

            // 2. DPO loss on the pairs.
            model.train();
            using var scope = NewDisposeScope();
            int n = chosen.Count;
            var all = chosen.Concat(rejected).ToList();
            using var batch = RolloutBatch.Build(tokenizer, all.Select(a => a.Item1).ToList(), all.Select(a => a.Item2.Tokens).ToArray(), all.Select(a => a.Item2.Text).ToList(), device);
            Tensor refSums;
            using (no_grad()) refSums = (batch.Score(reference.Model, entropy: false).LogProbs * batch.Mask).sum(1);   // (2n)
            var sums = (batch.Score(model, entropy: false).LogProbs * batch.Mask).sum(1);                               // (2n)
            var margin = (sums[..n] - refSums[..n]) - (sums[n..] - refSums[n..]);                                     // (n)
            var loss = -nn.functional.logsigmoid(o.Beta * margin).mean();
            loss.backward();
            nn.utils.clip_grad_norm_(model.parameters(), o.GradClip);
            optimizer.Update(o.Lr);
            optimizer.ZeroGrad();

            var row = new JsonObject
            {
                ["step"] = step, ["pairs"] = n, ["loss"] = Math.Round(loss.item<float>(), 5),
                ["margin"] = Math.Round(margin.mean().item<float>(), 4), ["pair_accuracy"] = Math.Round(margin.gt(0).to(ScalarType.Float32).mean().item<float>(), 4),
                ["sample_accuracy"] = Math.Round(rows.Select((p, i) => task.Check(p, gens[i].Text).Correct).Count(c => c) / (double)rows.Count, 4),
            };
            metrics.Write(row);
            if ((o.EvalEvery > 0 && step % o.EvalEvery == 0) || step == o.Steps)
            {
                double acc = Evaluator.GreedyAccuracy(model, tokenizer, task, evalProblems);
                metrics.Write(new JsonObject { ["step"] = step, ["eval_greedy"] = acc });
                progress?.Report(new TrainProgress(step, o.Steps, loss.item<float>(), 0, $"step {step}: held-out greedy {acc:P1}, {n} pairs"));
            }
        }
        Checkpoint.Save(o.Out, model.Config, model, tokenizer,
            new CheckpointState { Task = task.Name, Step = o.Steps, Seed = o.Seed, Kind = "policy", Extra = new() { ["init"] = o.Policy, ["trainer"] = "dpo" } });
    }
}
