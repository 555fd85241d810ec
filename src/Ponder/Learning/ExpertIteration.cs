// Expert iteration (STaR, Zelikman et al. 2022; ReST-EM, Singh et al. 2023): each round, the expert
// (the current policy sampling N attempts per problem; a search strategy can take its place through
// the `expert` delegate) proposes solutions to train problems, the verifier keeps the correct ones,
// and the policy is fine-tuned on them. "Search, then distill" — the AlphaZero-like loop.
// Simplification: the policy is fine-tuned continually from round to round (ReST-EM restarts from the
// base model); the optimizer state is kept across rounds.
using System.Text.Json.Nodes;
using Ponder.Policy;
using Ponder.Scaling;
using Ponder.Tasks;
using static TorchSharp.torch;

namespace Ponder.Learning;

/// <param name="expert">Proposes candidate completions for problems (default: sampling from the current policy).</param>
/// <param name="taskOverride">A task object to use instead of the registry's (tests use toy tasks).</param>
public sealed class ExpertIteration(ExpertIterationOptions options, Device device,
    Func<LoadedPolicy, IReadOnlyList<Problem>, int, IReadOnlyList<IReadOnlyList<string>>>? expert = null, ITask? taskOverride = null)
{
    public void Run(IProgress<TrainProgress>? progress = null)
    {
        var o = options;
        var policy = LoadedPolicy.Load(o.Resume ? o.Out : o.Policy, device);
        var task = taskOverride ?? TaskRegistry.Create(o.Task ?? policy.State.Task);
        var model = policy.Model;
        var optimizer = SupervisedStep.Optimizer(model, weightDecay: 0);
        int firstRound = 1;
        if (o.Resume)
        {
            firstRound = (int)policy.State.Step + 1;
            if (Checkpoint.ReadOptimizerState(o.Out) is { } saved) optimizer.Load(saved, Path.Combine(o.Out, Checkpoint.OptimizerFile));
        }
        var evalProblems = task.Problems(Split.Test, o.EvalCount, SftTrainer.EvalSeed);
        using var metrics = new MetricsLog(Path.Combine(o.Out, "metrics.jsonl"), o.Resume ? firstRound - 1 : null);
        if (!o.Resume)
            metrics.Write(new JsonObject { ["step"] = 0, ["round"] = 0, ["eval_greedy"] = Evaluator.GreedyAccuracy(model, policy.Tokenizer, task, evalProblems) });

        for (int round = firstRound; round <= o.Rounds; round++)
        {
            // 1. The expert attempts train problems; the verifier keeps distinct correct solutions.
            var problems = task.Problems(Split.Train, o.ProblemsPerRound, Seeds.Mix(o.Seed, round));
            var attempts = (expert ?? Sample)(policy, problems, Seeds.Mix(o.Seed + 104729, round));
            var kept = new List<(string Prompt, string Completion)>();
            int solved = 0, correctAttempts = 0;
            for (int i = 0; i < problems.Count; i++)
            {
                var correct = attempts[i].Where(c => task.Check(problems[i], c).Correct).Select(Canonical).Distinct().ToList();
                correctAttempts += attempts[i].Count(c => task.Check(problems[i], c).Correct);
                if (correct.Count > 0) solved++;
                kept.AddRange(correct.Take(o.KeepPerProblem).Select(c => (problems[i].Prompt, c)));
            }
            if (kept.Count == 0)
                throw new InvalidOperationException($"round {round}: the expert solved none of {problems.Count} train problems; nothing to learn from");

            // 2. Fine-tune on the kept solutions (shuffled, seeded).
            var rng = new Random(Seeds.Mix(o.Seed, 1000 + round));
            double loss = 0;
            for (int s = 0; s < o.StepsPerRound; s++)
            {
                var batch = Enumerable.Range(0, Math.Min(o.BatchSize, kept.Count)).Select(_ => kept[rng.Next(kept.Count)]).ToList();
                long global = (long)(round - 1) * o.StepsPerRound + s + 1;      // warmup: a fresh AdamW's first steps are lr-sized in every direction
                loss = SupervisedStep.Run(model, optimizer, policy.Tokenizer, batch, o.Lr * Math.Min(1.0, global / (double)Math.Max(1, o.Warmup)), o.GradClip).Loss;
            }

            // 3. Held-out evaluation and a checkpoint per round.
            double acc = Evaluator.GreedyAccuracy(model, policy.Tokenizer, task, evalProblems);
            metrics.Write(new JsonObject
            {
                ["step"] = round, ["round"] = round, ["solved_fraction"] = solved / (double)problems.Count,
                ["sample_accuracy"] = correctAttempts / (double)(problems.Count * o.SamplesPerProblem),
                ["kept"] = kept.Count, ["loss"] = Math.Round(loss, 5), ["eval_greedy"] = acc,
            });
            Checkpoint.Save(o.Out, model.Config, model, policy.Tokenizer,
                new CheckpointState { Task = task.Name, Step = round, Seed = o.Seed, Kind = "policy", HasOptimizerState = true,
                    Extra = new() { ["init"] = o.Resume ? policy.State.Extra?.GetValueOrDefault("init") ?? o.Policy : o.Policy, ["trainer"] = "expert-iteration" } },
                optimizer.State());
            progress?.Report(new TrainProgress(round, o.Rounds, loss, 0,
                $"round {round}: expert solved {solved}/{problems.Count}, kept {kept.Count} solutions, held-out greedy {acc:P1}"));
        }
    }

    /// <summary>The default expert: N samples per problem from the current policy.</summary>
    IReadOnlyList<IReadOnlyList<string>> Sample(LoadedPolicy policy, IReadOnlyList<Problem> problems, int seed)
    {
        var o = options;
        var task = taskOverride ?? TaskRegistry.Create(o.Task ?? policy.State.Task);
        var generator = new Policy.Generator(policy.Model, policy.Tokenizer);
        int maxNew = Evaluator.MaxNewTokens(policy.Tokenizer, task, problems, policy.Model.Config.MaxPositions);
        policy.Model.eval();
        return RepeatedSampler.Sample(generator, problems.Select(p => Prompting.Encode(policy.Tokenizer, p.Prompt)).ToList(), o.SamplesPerProblem,
                new SamplingOptions { Temperature = o.Temperature, MaxNewTokens = maxNew }, seed, batchSize: 256)
            .Select(IReadOnlyList<string> (g) => g.Select(x => x.Text).ToList()).ToList();
    }

    /// <summary>A kept solution is its lines up to the final-answer line (trailing text dropped), one step a line.</summary>
    static string Canonical(string completion)
    {
        var lines = Solution.Lines(completion);
        int final = lines.ToList().FindIndex(l => l.StartsWith('#'));
        return Solution.Join(final < 0 ? lines : lines.Take(final + 1).ToList());
    }
}
