// Expert iteration (STaR, Zelikman et al. 2022; ReST-EM, Singh et al. 2023): each round, the expert
// (the current policy sampling N attempts per problem; a search strategy can take its place through
// the `expert` delegate) proposes solutions to train problems, the verifier keeps the correct ones,
// and the policy is fine-tuned on them. "Search, then distill" — the AlphaZero-like loop.
// Two protocols (ExpertRestart):
//   Continue — fine-tune the previous round's model on this round's solutions; the optimizer state is kept.
//   Base     — fine-tune the ORIGINAL start policy afresh (fresh optimizer, fresh warmup) each round;
//              with Accumulate on the union of every round's verified solutions (STaR), without on this
//              round's only (ReST-EM). Sampling always uses the latest model.
// Steps per round: StepsPerRound × StepsGrowth^(r−1) (STaR grows them ~20% a round), or Epochs over the set.
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
    /// <summary>
    /// Runs the rounds, a checkpoint after each; once <paramref name="cancel"/> fires, stops after the round in progress
    /// (its checkpoint saved, so <c>--resume</c> continues with the next). Returns whether it stopped before the last round.
    /// </summary>
    public bool Run(IProgress<TrainProgress>? progress = null, CancellationToken cancel = default)
    {
        var o = options;
        if (o.Resume) Resumption.Require(o.Out, "expert-iteration", needsOptimizerState: false);
        var policy = LoadedPolicy.Load(o.Resume ? o.Out : o.Policy, device);
        // The start policy, as a resumed run's checkpoint names it (a base restart reloads o.Policy, whose own "init" is another's).
        string init = o.Resume ? policy.State.Extra?.GetValueOrDefault("init") ?? o.Policy : o.Policy;
        var task = taskOverride ?? TaskRegistry.Create(o.Task ?? policy.State.Task);
        if (o.StrictSteps) Solution.RequireStepCheckerForStrictSteps(task);
        var optimizer = SupervisedStep.Optimizer(policy.Model, weightDecay: 0);
        int firstRound = 1;
        long stepsDone = 0;                                       // optimizer steps so far (Continue's warmup counts them)
        string metricsPath = Path.Combine(o.Out, "metrics.jsonl"), solutionsPath = Path.Combine(o.Out, VerifiedSolutions.FileName);
        if (o.Resume)
        {
            firstRound = (int)policy.State.Step + 1;
            if (o.Restart == ExpertRestart.Continue && Checkpoint.ReadOptimizerState(o.Out) is { } saved)
                optimizer.Load(saved, Path.Combine(o.Out, Checkpoint.OptimizerFile));
            stepsDone = MetricsLog.Read(metricsPath).Where(r => r.ContainsKey("kept") && RoundOf(r, metricsPath) < firstRound)
                .Sum(r => r["steps"]?.GetValue<long>() ?? o.StepsPerRound);
        }
        var solutions = VerifiedSolutions.Load(solutionsPath, o.Resume ? firstRound : 1);
        var evalProblems = task.Problems(Split.Test, o.EvalCount, SftTrainer.EvalSeed);
        using var metrics = new MetricsLog(metricsPath, o.Resume ? firstRound - 1 : null);
        if (!o.Resume)
            metrics.Write(new JsonObject { ["step"] = 0, ["round"] = 0, ["eval_greedy"] = Evaluator.GreedyAccuracy(policy.Model, policy.Tokenizer, task, evalProblems) });

        for (int round = firstRound; round <= o.Rounds; round++)
        {
            // 1. The expert (the latest model) attempts train problems; the verifier keeps distinct correct solutions.
            var problems = RoundProblems(task, o.ProblemsPerRound, o.Seed, round);
            var attempts = (expert ?? Propose)(policy, problems, RoundSampleSeed(o.Seed, round));
            var (kept, solved, correctAttempts) = RejectionSampling.Keep(task, problems, attempts, o.KeepPerProblem, o.StrictSteps);
            if (kept.Count == 0)
                throw new InvalidOperationException($"round {round}: the expert solved none of {problems.Count} train problems; nothing to learn from");
            int added = kept.Count(k => solutions.Add(k.Prompt, k.Completion, round));
            solutions.Save(solutionsPath);
            var train = o.Accumulate ? solutions.Pairs : kept;

            // 2. Fine-tune on the training set (shuffled, seeded): the latest model, or the start policy afresh.
            if (o.Restart == ExpertRestart.Base)
            {
                policy.Model.Dispose();
                optimizer.Dispose();                                   // its moments would live on with no one to free them
                policy = LoadedPolicy.Load(o.Policy, device);
                optimizer = SupervisedStep.Optimizer(policy.Model, weightDecay: 0);
            }
            int steps = Steps(o, round, train.Count);
            double loss = FineTune(policy.Model, optimizer, policy.Tokenizer, train, steps, o, round, o.Restart == ExpertRestart.Base ? 0 : stepsDone);
            stepsDone += steps;

            // 3. Held-out evaluation and a checkpoint per round.
            double acc = Evaluator.GreedyAccuracy(policy.Model, policy.Tokenizer, task, evalProblems);
            metrics.Write(new JsonObject
            {
                ["step"] = round, ["round"] = round, ["solved_fraction"] = solved / (double)problems.Count,
                ["sample_accuracy"] = correctAttempts / (double)attempts.Sum(a => a.Count),
                ["kept"] = kept.Count, ["new"] = added, ["train_set"] = train.Count, ["steps"] = steps,
                ["loss"] = Math.Round(loss, 5), ["eval_greedy"] = acc,
            });
            var extra = new Dictionary<string, string>
            {
                ["init"] = init,
                ["trainer"] = "expert-iteration", ["restart"] = o.Restart.ToString().ToLowerInvariant(),
            };
            Resumption.KeepCommand(extra, o.Command);
            Checkpoint.Save(o.Out, policy.Model.Config, policy.Model, policy.Tokenizer,
                new CheckpointState { Task = task.Name, Step = round, Seed = o.Seed, Kind = "policy", HasOptimizerState = true, Extra = extra },
                optimizer.State());
            progress?.Report(new TrainProgress(round, o.Rounds, loss, 0,
                $"round {round}: expert solved {solved}/{problems.Count}, kept {kept.Count} ({added} new), " +
                $"{steps} steps on {train.Count}, held-out greedy {acc:P1}"));
            if (cancel.IsCancellationRequested)
            {
                optimizer.Dispose();
                return round < o.Rounds;
            }
        }
        optimizer.Dispose();
        return false;
    }

    // A round row's round number; a row without one is an error naming the log.
    static int RoundOf(JsonObject row, string metricsPath) =>
        row["round"] is JsonValue value && value.TryGetValue(out int round)
            ? round
            : throw new InvalidDataException($"{metricsPath}: the row of step {row["step"]} has no integer \"round\"");

    /// <summary>The train problems round <paramref name="round"/> attempts under <paramref name="seed"/>.</summary>
    public static IReadOnlyList<Problem> RoundProblems(ITask task, int count, int seed, int round) =>
        task.Problems(Split.Train, count, Seeds.Mix(seed, round));

    /// <summary>The sampling seed of round <paramref name="round"/> under <paramref name="seed"/>.</summary>
    public static int RoundSampleSeed(int seed, int round) => Seeds.Mix(seed + 104729, round);

    /// <summary>Optimizer steps of round <paramref name="round"/> on a training set of <paramref name="setSize"/> pairs.</summary>
    public static int Steps(ExpertIterationOptions o, int round, int setSize) =>
        o.Epochs is { } epochs
            ? Math.Max(1, (int)Math.Ceiling(epochs * setSize / o.BatchSize))
            : Math.Max(1, (int)Math.Round(o.StepsPerRound * Math.Pow(o.StepsGrowth, round - 1)));

    /// <summary>
    /// <paramref name="steps"/> SFT steps on batches drawn (seeded by the round) from <paramref name="data"/>; the learning
    /// rate warms up linearly over the first <see cref="ExpertIterationOptions.Warmup"/> steps counted from
    /// <paramref name="stepsBefore"/>, then falls over the round's steps as <see cref="ExpertIterationOptions.Decay"/> says.
    /// Returns the last step's loss.
    /// </summary>
    public static double FineTune(Transformer model, AdamW optimizer, ITokenizer tokenizer, IReadOnlyList<(string Prompt, string Completion)> data,
        int steps, ExpertIterationOptions o, int round, long stepsBefore)
    {
        var rng = new Random(Seeds.Mix(o.Seed, 1000 + round));
        double loss = 0;
        model.TrainingKernels = o.TrainingKernels;
        for (int s = 0; s < steps; s++)
        {
            var batch = Enumerable.Range(0, Math.Min(o.BatchSize, data.Count)).Select(_ => data[rng.Next(data.Count)]).ToList();
            loss = SupervisedStep.Run(model, optimizer, tokenizer, batch, RateAt(o, s + 1, steps, stepsBefore), o.GradClip, o.Pack).Loss;
        }
        return loss;
    }

    /// <summary>
    /// The rate of a round's 1-based step <paramref name="step"/> of <paramref name="steps"/>: the linear warmup counted
    /// from <paramref name="stepsBefore"/> (a fresh AdamW's first steps are lr-sized in every direction), times the
    /// round's decay from 1 towards <see cref="ExpertIterationOptions.MinLrFraction"/>, which it would reach one step after
    /// its last (so the last step still learns, as RL's decaying rates do).
    /// </summary>
    internal static double RateAt(ExpertIterationOptions o, int step, int steps, long stepsBefore)
    {
        double lr = o.Lr * Math.Min(1.0, (stepsBefore + step) / (double)Math.Max(1, o.Warmup));
        return o.Decay == LrDecay.Constant ? lr : lr * new LrSchedule(1.0, 0, steps + 1, o.MinLrFraction, o.Decay).At(step);
    }

    /// <summary>The expert of <see cref="ExpertIterationOptions.Expert"/>: candidate solutions for each problem.</summary>
    IReadOnlyList<IReadOnlyList<string>> Propose(LoadedPolicy policy, IReadOnlyList<Problem> problems, int seed)
    {
        var o = options;
        var task = taskOverride ?? TaskRegistry.Create(o.Task ?? policy.State.Task);
        int maxNew = Evaluator.MaxNewTokens(policy.Tokenizer, task, problems, policy.Model.Config.MaxPositions);
        return o.Expert switch
        {
            ExpertKind.Gold => problems.Select(IReadOnlyList<string> (p) => task.GoldSolution(p) is { } gold ? [Solution.Join(gold)]
                : throw new InvalidOperationException($"expert 'gold': task '{task.Name}' has no gold solution for problem {p.Id}")).ToList(),
            ExpertKind.Mcts => Search(new VerifiedTreeSearch(new Policy.Generator(policy.Model, policy.Tokenizer), task, maxNew, o.Expansions, o.Temperature),
                problems, o.SamplesPerProblem, seed),
            ExpertKind.Flip => UncertainFlips.Propose(policy.Model, policy.Tokenizer, problems, (p, c) => task.Check(p, c).Correct,
                o.FlipPositions, o.FlipAlternatives, maxNew),
            _ => RejectionSampling.Attempts(new Policy.Generator(policy.Model, policy.Tokenizer), policy.Tokenizer, task, problems,
                o.SamplesPerProblem, o.MaxSamples, o.KeepPerProblem, o.StrictSteps, o.Temperature, seed, maxNew),
        };
    }

    // Each problem's tree of `simulations` simulations: every distinct finished solution it holds.
    static IReadOnlyList<IReadOnlyList<string>> Search(VerifiedTreeSearch search, IReadOnlyList<Problem> problems, int simulations, int seed) =>
        problems.Select(IReadOnlyList<string> (p, i) => search.Explore(p, simulations, Seeds.Mix(seed, i)).Result.Candidates.Select(c => c.Completion).ToList()).ToList();
}
