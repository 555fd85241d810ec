// Policy-gradient RL on verifiable rewards. One trainer; an algorithm is an advantage estimator:
//   REINFORCE  A_i = r_i − b                 (b: moving average of batch rewards)
//   RLOO       A_i = r_i − mean_{j≠i} r_j    (over the S samples of the same prompt)
//   GRPO       A_i = (r_i − mean) / std      (std optional: Dr. GRPO)
//   PPO        A_t = GAE(γ, λ) of token rewards (outcome at the last token) with a value head
// and one loss for all (PolicyLoss): clipped ratio to the rollout policy, optional KL to the frozen
// start policy (k1 or k3), optional entropy bonus, per-token or per-sequence aggregation.
// With a PRM, its step scores add step-level advantages (group algorithms) or dense token rewards
// (PPO); see ProcessAdvantages.
// Simplifications: the reward is given once per sequence (PPO spreads it by GAE); rollouts are
// sampled and scored with the same weights (π_old = π at the batch's first optimizer step).
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Ponder.Policy;
using Ponder.Rewards;
using Ponder.Scaling;
using Ponder.Tasks;
using TorchSharp;
using static TorchSharp.torch;

namespace Ponder.Learning;

/// <param name="taskOverride">A task object to use instead of the registry's (tests use toy tasks).</param>
/// <param name="processReward">A PRM whose step scores become process advantages or dense rewards (null: outcome only).</param>
public sealed class RlTrainer(RlOptions options, Device device, ITask? taskOverride = null, IProcessReward? processReward = null)
{
    public const int EvalSeed = SftTrainer.EvalSeed;

    public void Run(IProgress<TrainProgress>? progress = null, CancellationToken cancel = default)
    {
        var o = options;
        Validate(o);
        if (o.BranchAtEntropy && processReward is not null)
            throw new ArgumentException("branched groups share a prefix whose gradient cancels only when its advantages sum to zero across the group; process rewards give each row its own: they do not combine");
        if (o.Resume && Resumption.Require(o.Out, "rl").Extra?.GetValueOrDefault("algorithm") is { } algorithm
            && algorithm != o.Algorithm.ToString().ToLowerInvariant())
            throw new InvalidDataException($"checkpoint '{o.Out}': it is a {algorithm} run; resume it with --algo {algorithm}");
        var start = LoadedPolicy.Load(o.Resume ? o.Out : o.Policy, device);
        var reference = LoadedPolicy.Load(o.Resume ? InitOf(start) : o.Policy, device);
        var task = taskOverride ?? TaskRegistry.Create(o.Task ?? reference.State.Task);
        if (o.Shaping.StrictSteps) Solution.RequireStepCheckerForStrictSteps(task);
        if (o.Task is not null && task.Name != reference.State.Task && reference.State.Kind == "policy")
            progress?.Report(new TrainProgress(0, o.Steps, 0, 0, $"note: policy trained on '{reference.State.Task}', RL on '{task.Name}'"));
        if (start.Tokenizer.ToJson() != reference.Tokenizer.ToJson())
            throw new InvalidDataException($"checkpoint '{o.Out}': its tokenizer differs from the start policy '{InitOf(start)}'");
        string init = o.Resume ? InitOf(start) : o.Policy;
        var model = start.Model;
        model.TrainingKernels = o.TrainingKernels;
        var tokenizer = start.Tokenizer;
        torch.manual_seed(o.Seed);
        var valueHead = o.Algorithm == RlAlgorithm.Ppo ? nn.Linear(model.Config.HiddenSize, 1, device: device) : null;
        var named = model.named_parameters().Select(p => (p.name, (Tensor)p.parameter)).ToList();
        if (valueHead is not null) named.AddRange(valueHead.named_parameters().Select(p => (ValueHeadPrefix + p.name, (Tensor)p.parameter)));
        var parameters = model.parameters().Concat(valueHead?.parameters() ?? []).ToList();
        using var optimizer = new AdamW(named, eps: o.AdamEps, weightDecay: 0);
        long startStep = 0;
        double baseline = 0;
        if (o.Resume)
        {
            startStep = start.State.Step;
            var saved = Checkpoint.ReadOptimizerState(o.Out) ?? throw new InvalidDataException($"checkpoint '{o.Out}': no optimizer.safetensors to resume from");
            optimizer.Load(saved, Path.Combine(o.Out, Checkpoint.OptimizerFile));
            if (valueHead is not null) LoadValueHead(valueHead, saved, o.Out);
            baseline = double.Parse(start.State.Extra?.GetValueOrDefault("baseline") ?? "0", CultureInfo.InvariantCulture);
        }
        var reward = new VerifierReward(task, o.Shaping);
        var generator = new Policy.Generator(model, tokenizer);
        var evalProblems = task.Problems(Split.Test, o.EvalCount, EvalSeed);
        int maxNew = Evaluator.MaxNewTokens(tokenizer, task, task.Problems(Split.Train, 64, o.Seed), model.Config.MaxPositions);
        using var metrics = new MetricsLog(Path.Combine(o.Out, "metrics.jsonl"), o.Resume ? startStep : null);
        if (!o.Resume) metrics.Write(EvalRow(0, Evaluator.GreedyAccuracy(model, tokenizer, task, evalProblems), evalProblems.Count));

        bool startPool = o.SftPool == SftPool.Start || o.ReplayStart;
        var found = new GuidedSolutions(Path.Combine(o.Out, GuidedSolutions.File), o.MaxSamples > 0 || startPool, o.Resume ? startStep : null);
        var clock = Stopwatch.StartNew();
        var poolProblems = startPool ? ExpertIteration.RoundProblems(task, o.PoolProblems, o.Seed, round: 1) : [];
        if (startPool && !o.Resume) metrics.Write(StartPool(task, poolProblems, tokenizer, generator, found, progress));
        var replay = o.ReplayStart ? new StartReplay(poolProblems, found.ByPrompt(), o.PromptsPerStep, o.Seed) : null;
        long step = startStep;
        long rolloutsSoFar = o.Resume                            // every rollout sampled, kept or not (dynamic sampling drops some)
            ? MetricsLog.Read(Path.Combine(o.Out, "metrics.jsonl")).LastOrDefault(r => r.ContainsKey("rollouts"))?["rollouts"]?.GetValue<long>() ?? 0
            : 0;
        // A decaying rate reaches zero one step after the last, so that the last batch's update is not wasted.
        var schedule = new LrSchedule(o.Lr, o.Warmup, o.Steps + 1, MinFraction: 0, o.Decay);
        var sftSchedule = o.SftLr is { } sftPeak ? new LrSchedule(sftPeak, o.Warmup, o.Steps + 1, MinFraction: 0, o.Decay) : schedule;
        // The warmup in RL's own arithmetic, which differs from LrSchedule's in the last bit: seeded runs keep their curves.
        double RateAt(LrSchedule s, long step) => step <= o.Warmup ? s.Peak * Math.Min(1.0, step / (double)Math.Max(1, o.Warmup)) : s.At(step);
        while (step < o.Steps)
        {
            step++;
            double lr = RateAt(schedule, step), sftLr = RateAt(sftSchedule, step);
            var row = new JsonObject { ["step"] = step, ["lr"] = lr };

            // 1. Rollouts: GroupSize samples of each prompt, scored by the verifier. With dynamic sampling (DAPO), groups
            //    whose rewards are all equal (zero advantage) are dropped and more prompts drawn until the batch is full.
            model.eval();
            var (rows, gens, rewards, drawn, draws, branchAt, guided, unsolved) = Rollouts(step, task, tokenizer, generator, reward, maxNew, replay);
            var actionAt = o.BranchThenGreedy ? branchAt : null;        // the one sampled token of each row
            rolloutsSoFar += drawn;
            int groups = rows.Count / o.GroupSize;
            var texts = gens.Select(g => g.Text).ToList();
            // Scored at the rollout temperature: the ratio, KL and entropy are of the distribution the tokens were sampled from.
            using var batch = RolloutBatch.Build(tokenizer, rows, gens.Select(g => g.Tokens).ToArray(), texts, device, temperature: o.Temperature);
            using var scope = NewDisposeScope();

            // 2. Advantages, and the rollout (old) and reference log-probs.
            //    With one optimizer step a batch (and no value head to read the pass's hidden states) the policy being
            //    trained is the one that sampled: the training forward's own log-probs, detached, are the old ones, and
            //    a separate no-grad pass would compute the same numbers.
            Tensor advantages;
            Tensor? oldLogProbs = null, refLogProbs = null, returns = null, hidden = null, oldValues = null;
            using (no_grad())
            {
                // Each pass in a scope of its own: only what is kept outlives it, not its (N, L−1, V) logits.
                if (o.EpochsPerBatch > 1 || valueHead is not null)
                    using (NewDisposeScope())
                    {
                        (oldLogProbs, _, hidden) = batch.Score(model, entropy: false);
                        oldLogProbs.MoveToOuterDisposeScope();
                        hidden.MoveToOuterDisposeScope();
                    }
                if (o.Kl != KlEstimator.None)
                    using (NewDisposeScope()) refLogProbs = batch.Score(reference.Model, entropy: false).LogProbs.MoveToOuterDisposeScope();
                var r = tensor(rewards.Select(x => (float)x).ToArray(), device: device);    // (N)
                var perSequence = o.Algorithm switch
                {
                    RlAlgorithm.Grpo => Advantages.Grpo(r.view(groups, o.GroupSize), o.NormalizeStd).view(-1),
                    RlAlgorithm.Rloo => Advantages.Rloo(r.view(groups, o.GroupSize)).view(-1),
                    RlAlgorithm.Reinforce => Advantages.Reinforce(r, baseline),
                    _ => null,
                };
                if (perSequence is not null) perSequence = Advantages.WeighNegatives(perSequence, o.NegativeWeight);
                var steps = processReward is null ? null : ProcessAdvantages.StepScores(processReward, tokenizer, rows, gens);
                long width = batch.Mask.shape[1];
                if (perSequence is not null)
                {
                    advantages = o.OutcomeCoef * perSequence.unsqueeze(1) * batch.Mask;        // (N, T)
                    if (steps is not null)
                        advantages = advantages + o.ProcessCoef * ProcessAdvantages.GroupStepAdvantages(steps, o.GroupSize, width, device) * batch.Mask;
                    if (actionAt is not null) advantages = advantages * ActionMask(batch, actionAt);   // process advantages included
                }
                else
                {
                    var values = valueHead!.call(hidden!).squeeze(-1) * batch.Mask;            // (N, T)
                    oldValues = values;
                    var tokenRewards = o.OutcomeCoef * LastTokenRewards(batch.Mask, r);        // (N, T)
                    if (steps is not null) tokenRewards = tokenRewards + o.ProcessCoef * ProcessAdvantages.DenseRewards(steps, width, device) * batch.Mask;
                    (advantages, returns) = Advantages.Gae(tokenRewards, values, batch.Mask, o.Gamma, o.Lambda);
                    var m = batch.Mask;
                    var mean = (advantages * m).sum() / m.sum();
                    var std = (((advantages - mean) * m).pow(2).sum() / m.sum()).sqrt();
                    advantages = (advantages - mean) / (std + 1e-6) * m;                     // whitened over the batch
                }
            }
            baseline = o.BaselineDecay * baseline + (1 - o.BaselineDecay) * rewards.Average();
            if (!startPool)
                found.Add(step, Enumerable.Range(0, rows.Count)
                    .Where(i => guided[i] || (o.SftPool == SftPool.Verified && reward.Solves(rows[i], texts[i]))).Select(i => (rows[i].Prompt, texts[i])));

            // 3. Optimizer steps on this batch. The KL estimate counts only tokens the policy sampled: not replayed rows, nor
            //    a branched row's greedy prefix (or, branching then greedy, its greedy continuation).
            var klMask = replay is not null ? batch.Mask * tensor(guided.Select(g => g ? 0f : 1f).ToArray(), device: device).unsqueeze(1)
                : actionAt is not null ? ActionMask(batch, actionAt)
                : branchAt is not null ? MaskFrom(batch, branchAt)
                : null;
            model.train();
            PolicyLossMetrics? last = null;
            double valueLoss = 0, gradNorm = 0, sftNll = 0;
            for (int epoch = 0; epoch < o.EpochsPerBatch; epoch++)
            {
                using var inner = NewDisposeScope();
                var (logProbs, entropy, trainHidden) = batch.Score(model, entropy: true);
                var (loss, parts) = PolicyLoss.Compute(logProbs, oldLogProbs ?? logProbs.detach(), refLogProbs, advantages, batch.Mask, entropy,
                    o.ClipEps, o.KlCoef, o.Kl, o.EntropyCoef, o.Aggregation, o.ClipEpsHigh, o.TopEntropy, klMask, constantLength: maxNew);
                if (o.SftCoef > 0 && guided.Any(g => g))
                {
                    var nll = GuidedNll(logProbs, batch.Mask, guided);
                    loss = loss + o.SftCoef * nll;
                    sftNll = nll.item<float>();
                }
                if (valueHead is not null)
                {
                    var v = valueHead.call(trainHidden).squeeze(-1);                           // (N, T)
                    var error = (v - returns!).pow(2);                                         // (N, T)
                    if (o.ValueClip > 0)                                                        // as TRL's PPO: the larger of the two errors
                        error = maximum(error, (oldValues! + (v - oldValues!).clamp(-o.ValueClip, o.ValueClip) - returns!).pow(2));
                    var vl = 0.5 * PolicyLoss.Aggregate(error, batch.Mask, LossAggregation.Token);
                    loss = loss + o.ValueCoef * vl;
                    valueLoss = vl.item<float>();
                }
                loss.backward();
                gradNorm = nn.utils.clip_grad_norm_(parameters, o.GradClip);         // the norm before clipping
                optimizer.Update(lr);
                optimizer.ZeroGrad();
                last = parts;
            }
            double replayLoss = 0;
            for (int k = 0; k < o.SftSteps && found.Count > 0; k++)
                replayLoss += SupervisedStep.Run(model, optimizer, tokenizer, found.Draw(o.SftBatch, Seeds.Mix(Seeds.Mix(o.Seed + 31337, step), k)),
                    sftLr, o.GradClip, update: name => !name.StartsWith(ValueHeadPrefix, StringComparison.Ordinal)).Loss / o.SftSteps;   // the value head has no SFT loss

            int correct = rows.Select((p, i) => task.Check(p, texts[i]).Correct).Count(c => c);
            row["reward"] = Math.Round(rewards.Average(), 4);
            row["accuracy"] = Math.Round(correct / (double)rows.Count, 4);
            row["response_length"] = Math.Round(batch.CompletionLengths.Average(), 2);
            row["kl"] = Math.Round(last!.Kl, 5);
            row["entropy"] = Math.Round(last.Entropy, 4);
            row["clip_fraction"] = Math.Round(last.ClipFraction, 4);
            row["loss"] = Math.Round(last.Loss, 5);
            row["grad_norm"] = Math.Round(gradNorm, 4);
            if (valueHead is not null) row["value_loss"] = Math.Round(valueLoss, 5);
            if (o.DynamicSampling) { row["draws"] = draws; row["groups"] = groups; row["rollouts_drawn"] = drawn; }
            if (o.MaxSamples > 0) { row["unsolved_groups"] = unsolved; row["guided"] = guided.Count(g => g); row["rollouts_drawn"] = drawn; }
            if (replay is not null) { row["unsolved_groups"] = unsolved; row["replayed"] = guided.Count(g => g); }
            if (o.SftCoef > 0) row["sft_nll"] = Math.Round(sftNll, 5);
            if (o.SftSteps > 0) { row["sft_loss"] = Math.Round(replayLoss, 5); row["solutions_found"] = found.Count; }
            row["rollouts"] = rolloutsSoFar;
            row["elapsed_s"] = Math.Round(clock.Elapsed.TotalSeconds, 2);
            metrics.Write(row);
            progress?.Report(new TrainProgress(step, o.Steps, last.Loss, 0));

            bool lastStep = step == o.Steps;
            bool outOfTime = o.MaxMinutes > 0 && clock.Elapsed.TotalMinutes >= o.MaxMinutes;
            if ((o.EvalEvery > 0 && step % o.EvalEvery == 0) || lastStep || outOfTime)
            {
                double acc = Evaluator.GreedyAccuracy(model, tokenizer, task, evalProblems);
                metrics.Write(EvalRow(step, acc, evalProblems.Count));
                progress?.Report(new TrainProgress(step, o.Steps, last.Loss, 0,
                    $"step {step}: held-out greedy {acc:P1}; batch reward {rewards.Average():F3}, KL {last.Kl:F4}, length {batch.CompletionLengths.Average():F1}"));
            }
            bool stop = cancel.IsCancellationRequested;                 // read once: a stop asked for is always saved
            if ((o.CheckpointEvery > 0 && step % o.CheckpointEvery == 0) || lastStep || outOfTime || stop)
                Save(model, tokenizer, task, optimizer, valueHead, init, step, baseline);
            if (outOfTime || stop) break;
        }
    }

    /// <summary>
    /// <see cref="SftPool.Start"/>: the start policy's verified solutions, sampled before RL as expert iteration's first
    /// round samples them with the same seed (<paramref name="problems"/> are its round-1 problems; its sampling seed, its
    /// keep and check rules), into <paramref name="pool"/> as step 0's. Returns the metrics row that reports them.
    /// </summary>
    JsonObject StartPool(ITask task, IReadOnlyList<Problem> problems, ITokenizer tokenizer, Policy.Generator generator, GuidedSolutions pool,
        IProgress<TrainProgress>? progress)
    {
        var o = options;
        var clock = Stopwatch.StartNew();
        int maxNew = Evaluator.MaxNewTokens(tokenizer, task, problems, generator.Model.Config.MaxPositions);
        var attempts = RejectionSampling.Attempts(generator, tokenizer, task, problems, samples: 1, o.PoolMaxSamples, keep: 1,
            o.Shaping.StrictSteps, o.Temperature, ExpertIteration.RoundSampleSeed(o.Seed, round: 1), maxNew);
        int drawn = attempts.Sum(a => a.Count);
        var (kept, solved, _) = RejectionSampling.Keep(task, problems, attempts, keep: 1, o.Shaping.StrictSteps);
        if (kept.Count == 0)
            throw new InvalidOperationException($"start pool: the start policy solved none of {problems.Count} train problems in up to {o.PoolMaxSamples} attempts each; nothing to replay");
        pool.Add(0, kept);
        progress?.Report(new TrainProgress(0, o.Steps, 0, 0,
            $"start pool: {solved} of {problems.Count} train problems solved in {drawn} attempts ({clock.Elapsed.TotalSeconds:F0} s)"));
        return new JsonObject
        {
            ["step"] = 0, ["pool"] = pool.Count, ["pool_problems"] = problems.Count, ["pool_solved_fraction"] = Math.Round(solved / (double)problems.Count, 4),
            ["pool_attempts"] = drawn, ["pool_seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 2),
        };
    }

    /// <summary>
    /// One step's rollouts: PromptsPerStep prompts × GroupSize samples. With <see cref="RlOptions.DynamicSampling"/>, groups
    /// whose rewards are all equal are dropped and further prompts drawn (at most MaxDraws draws) until PromptsPerStep
    /// groups with mixed rewards are kept; the batch may come back short (and if no group has mixed rewards, it is the
    /// first draw unfiltered: zero advantages, a KL-only step). Returns the kept rows and the number of rollouts sampled,
    /// and under <see cref="RlOptions.BranchAtEntropy"/> each row's branch token, the first it sampled (its index in the
    /// completion; under <see cref="RlOptions.BranchThenGreedy"/> the only one).
    /// With <see cref="RlOptions.MaxSamples"/>, groups that solve nothing are guided (<see cref="Guide"/>) before any
    /// filtering; the rows that guidance put in are flagged, and the groups that needed it (solved or not) counted.
    /// With <paramref name="replay"/> (<see cref="RlOptions.ReplayStart"/>) the prompts are the start pool's, and the rows
    /// it puts in are flagged and counted the same way.
    /// </summary>
    (List<Problem> Rows, List<Generation> Gens, double[] Rewards, int Drawn, int Draws, int[]? BranchAt, bool[] Guided, int Unsolved) Rollouts(long step,
        ITask task, ITokenizer tokenizer, Policy.Generator generator, VerifierReward reward, int maxNew, StartReplay? replay)
    {
        var o = options;
        var rows = new List<Problem>();
        var gens = new List<Generation>();
        var rewards = new List<double>();
        var actions = new List<int>();
        var guided = new List<bool>();
        (List<Problem>, List<Generation>, double[], int[], bool[])? first = null;
        int drawn = 0, draw = 0, unsolved = 0;
        for (; draw < (o.DynamicSampling ? o.MaxDraws : 1) && rows.Count < o.PromptsPerStep * o.GroupSize; draw++)
        {
            long index = draw == 0 ? step : Seeds.Mix(step, draw);        // draw 0 is the plain batch of this step
            var problems = replay?.Prompts(step) ?? task.Problems(Split.Train, o.PromptsPerStep, Seeds.Mix(o.Seed, index));
            var drawRows = problems.SelectMany(p => Enumerable.Repeat(p, o.GroupSize)).ToList();
            var sampling = new SamplingOptions { Temperature = o.Temperature, MaxNewTokens = maxNew, Seed = Seeds.Mix(o.Seed + 7919, index) };
            var (drawGens, branchAt) = o.BranchAtEntropy
                ? BranchedRollouts(problems, tokenizer, generator, sampling, o.GroupSize, o.BranchThenGreedy)
                : (generator.Generate(drawRows.Select(p => Prompting.Encode(tokenizer, p.Prompt)).ToList(), sampling).ToList(), new int[drawRows.Count]);
            var drawRewards = reward.Score(drawRows, drawGens.Select(g => g.Text).ToList()).ToArray();
            drawn += drawRows.Count;
            var drawGuided = new bool[drawRows.Count];
            if (o.MaxSamples > 0)
            {
                var (extra, open) = Guide(problems, tokenizer, generator, reward, sampling, drawGens, drawRewards, drawGuided);
                drawn += extra;
                unsolved += open;
            }
            if (replay is not null) unsolved += replay.Fill(problems, o.GroupSize, tokenizer, reward, drawGens, drawRewards, drawGuided);
            first ??= (drawRows, drawGens, drawRewards, branchAt, drawGuided);
            for (int g = 0; g < problems.Count && rows.Count < o.PromptsPerStep * o.GroupSize; g++)
            {
                var range = Enumerable.Range(g * o.GroupSize, o.GroupSize).ToList();
                if (o.DynamicSampling && range.All(i => drawRewards[i] == drawRewards[range[0]])) continue;
                rows.AddRange(range.Select(i => drawRows[i]));
                gens.AddRange(range.Select(i => drawGens[i]));
                rewards.AddRange(range.Select(i => drawRewards[i]));
                actions.AddRange(range.Select(i => branchAt[i]));
                guided.AddRange(range.Select(i => drawGuided[i]));
            }
        }
        if (rows.Count == 0)
            (rows, gens, rewards, actions, guided) = (first!.Value.Item1, first.Value.Item2, [.. first.Value.Item3], [.. first.Value.Item4], [.. first.Value.Item5]);
        return (rows, gens, rewards.ToArray(), drawn, draw, o.BranchAtEntropy ? actions.ToArray() : null, guided.ToArray(), unsolved);
    }

    /// <summary>
    /// Guided groups (<see cref="RlOptions.MaxSamples"/>): each group of <paramref name="gens"/> (GroupSize rows a problem)
    /// none of whose rollouts solves its problem draws more samples of it, doubling the problem's draws each pass up to
    /// MaxSamples in all, until one solves it; that sample replaces the group's last rollout (its reward and its flag in
    /// <paramref name="guided"/> set). With strict steps a draw stops at its first wrong step (<see cref="VerifierReward.CannotSolve"/>):
    /// only a solution is kept, and a wrong step rules one out. Returns the rollouts drawn beyond the groups and the number
    /// of groups that needed it.
    /// </summary>
    (int Extra, int Unsolved) Guide(IReadOnlyList<Problem> problems, ITokenizer tokenizer, Policy.Generator generator, VerifierReward reward,
        SamplingOptions sampling, List<Generation> gens, double[] rewards, bool[] guided)
    {
        int group = options.GroupSize;
        var open = GroupRows.Unsolved(problems, group, gens, reward);
        int unsolved = open.Count, extra = 0, drawn = group;
        for (int pass = 1; open.Count > 0 && drawn < options.MaxSamples; pass++)
        {
            int draws = Math.Min(drawn, options.MaxSamples - drawn);
            var targets = open.Select(g => problems[g]).ToList();
            var samples = RepeatedSampler.Sample(generator, targets.Select(p => Prompting.Encode(tokenizer, p.Prompt)).ToList(), draws,
                sampling, Seeds.Mix(sampling.Seed, pass), batchSize: 256, abandon: (j, lines) => reward.CannotSolve(targets[j], lines));
            extra += draws * open.Count;
            drawn += draws;
            var still = new List<int>();
            for (int j = 0; j < open.Count; j++)
            {
                var problem = problems[open[j]];
                var solution = samples[j].FirstOrDefault(s => reward.Solves(problem, s.Text));
                if (solution is null) { still.Add(open[j]); continue; }
                GroupRows.PutLast(open[j], group, problem, solution, reward, gens, rewards, guided);
            }
            open = still;
        }
        return (extra, unsolved);
    }

    /// <summary>Mean negative log-likelihood of the completion tokens of the <paramref name="guided"/> rows.</summary>
    static Tensor GuidedNll(Tensor logProbs, Tensor mask, bool[] guided)
    {
        var rows = tensor(guided.Select(g => g ? 1f : 0f).ToArray(), device: mask.device).unsqueeze(1);   // (N, 1)
        var m = mask * rows;
        return -(logProbs * m).sum() / m.sum();
    }

    /// <summary>
    /// (N, L−1): 1 at the position that predicts each row's sampled token (completion index <paramref name="actionAt"/>),
    /// counted from the row's first completion position, where its mask starts.
    /// </summary>
    internal static Tensor ActionMask(RolloutBatch batch, int[] actionAt)
    {
        using var scope = NewDisposeScope();
        var index = Position(batch, actionAt);                                           // (N, 1)
        return zeros_like(batch.Mask).scatter_(1, index, ones_like(batch.Mask)).mul_(batch.Mask).MoveToOuterDisposeScope();
    }

    /// <summary>(N, L−1): the mask from each row's completion index <paramref name="from"/> on (the tokens it sampled after a greedy prefix).</summary>
    internal static Tensor MaskFrom(RolloutBatch batch, int[] from)
    {
        using var scope = NewDisposeScope();
        var columns = arange(batch.Mask.size(1), ScalarType.Int64, batch.Mask.device).unsqueeze(0);   // (1, L−1)
        return columns.ge(Position(batch, from)).to(batch.Mask.dtype).mul_(batch.Mask).MoveToOuterDisposeScope();
    }

    // (N, 1): the column of each row's completion index, counted from the row's first completion position (its mask's first 1).
    private static Tensor Position(RolloutBatch batch, int[] completionIndex) =>
        batch.Mask.argmax(1, keepdim: true) + tensor(completionIndex.Select(a => (long)a).ToArray(), [completionIndex.Length, 1], device: batch.Mask.device);

    /// <summary>
    /// <paramref name="group"/> rollouts of each problem that share the prefix of its greedy completion up to the token of
    /// highest entropy under the policy, then sample from there (that token included). Each rollout's tokens are the whole
    /// completion, prefix and all: the prefix is the same in every rollout of a group, so with group-centred advantages
    /// its policy-gradient terms cancel. Also returns each rollout's branch token (its index in the completion).
    /// </summary>
    internal static (List<Generation> Rollouts, int[] BranchAt) BranchedRollouts(IReadOnlyList<Problem> problems, ITokenizer tokenizer, Policy.Generator generator,
        SamplingOptions sampling, int group, bool thenGreedy = false)
    {
        var model = generator.Model;
        var prompts = problems.Select(p => Prompting.Encode(tokenizer, p.Prompt)).ToList();
        var greedy = generator.Generate(prompts, sampling with { Temperature = 0 });
        var prefixes = new List<int[]>(problems.Count);
        using (var scope = NewDisposeScope())
        using (no_grad())
        using (var batch = RolloutBatch.Build(tokenizer, problems, greedy.Select(g => g.Tokens).ToArray(), greedy.Select(g => g.Text).ToList(), model.Device))
        {
            var entropy = batch.Score(model, entropy: true).Entropy!.masked_fill(batch.Mask.eq(0), -1);   // (N, L−1)
            var at = entropy.argmax(1).to(ScalarType.Int64).cpu().data<long>().ToArray();
            for (int i = 0; i < problems.Count; i++)
                prefixes.Add(greedy[i].Tokens[..(int)(at[i] - (prompts[i].Length - 1))]);
        }
        var rows = prompts.SelectMany((p, i) => Enumerable.Repeat<int[]>([.. p, .. prefixes[i]], group)).ToList();
        var continued = thenGreedy ? SampleOneThenGreedy(generator, rows, sampling) : generator.Generate(rows, sampling);
        var rollouts = continued.Select((c, r) =>
        {
            int[] prefix = prefixes[r / group], tokens = [.. prefix, .. c.Tokens];
            float[] logProbs = [.. greedy[r / group].LogProbs[..prefix.Length], .. c.LogProbs];
            return new Generation(tokens, logProbs, tokenizer.Decode(tokens), c.FinishReason, c.StopString);
        }).ToList();
        return (rollouts, Enumerable.Range(0, rollouts.Count).Select(r => prefixes[r / group].Length).ToArray());
    }

    /// <summary>Continuations of <paramref name="rows"/> whose first token is sampled and the rest greedy.</summary>
    static IReadOnlyList<Generation> SampleOneThenGreedy(Policy.Generator generator, List<int[]> rows, SamplingOptions sampling)
    {
        var first = generator.Generate(rows, sampling with { MaxNewTokens = 1 });
        var open = Enumerable.Range(0, rows.Count).Where(r => first[r].FinishReason == FinishReason.Length).ToList();
        if (open.Count == 0 || sampling.MaxNewTokens <= 1) return first;
        var rest = generator.Generate(open.Select(r => (int[])[.. rows[r], .. first[r].Tokens]).ToList(),
            sampling with { Temperature = 0, MaxNewTokens = sampling.MaxNewTokens - 1 });
        var joined = first.ToArray();
        for (int j = 0; j < open.Count; j++)
        {
            var (head, tail) = (first[open[j]], rest[j]);
            joined[open[j]] = new Generation([.. head.Tokens, .. tail.Tokens], [.. head.LogProbs, .. tail.LogProbs], head.Text + tail.Text, tail.FinishReason, tail.StopString);
        }
        return joined;
    }

    /// <summary>The prefix of the PPO value head's parameters among the optimizer's and in the checkpoint's optimizer file.</summary>
    const string ValueHeadPrefix = "value_head.";

    internal static void Validate(RlOptions o)
    {
        if (o.ValueClip > 0 && o.Algorithm != RlAlgorithm.Ppo) throw new ArgumentException("--value-clip clips PPO's value loss: it needs --algo ppo");
        if (o.GroupSize < 1 || o.PromptsPerStep < 1) throw new ArgumentException("group size and prompts per step must be positive");
        if (o.Algorithm is RlAlgorithm.Grpo or RlAlgorithm.Rloo && o.GroupSize < 2)
            throw new ArgumentException($"{o.Algorithm} needs a group of at least 2 samples per prompt (got {o.GroupSize})");
        if (o.EpochsPerBatch < 1) throw new ArgumentException("epochs per batch must be at least 1");
        if (o.DynamicSampling && o.Algorithm is not (RlAlgorithm.Grpo or RlAlgorithm.Rloo))
            throw new ArgumentException($"dynamic sampling keeps groups with mixed rewards; {o.Algorithm} has no groups (use grpo or rloo)");
        if (o.TopEntropy is <= 0 or > 1) throw new ArgumentException($"top-entropy fraction must be in (0, 1] (got {o.TopEntropy})");
        if (o.BranchAtEntropy && o.Algorithm is not (RlAlgorithm.Grpo or RlAlgorithm.Rloo))
            throw new ArgumentException($"branching at the highest-entropy token makes groups that share a prefix; {o.Algorithm} has no groups (use grpo or rloo)");
        if (o.BranchThenGreedy && !o.BranchAtEntropy) throw new ArgumentException("--branch-then-greedy continues branched rollouts: it needs --branch-at-entropy");
        if (o.BranchAtEntropy && (o.Aggregation != LossAggregation.Token || o.NegativeWeight != 1))
            throw new ArgumentException("branched groups share a prefix whose gradient cancels only when the group's advantages sum to zero per token: they need token aggregation and negative weight 1");
        if (o.BranchAtEntropy && o.EpochsPerBatch > 1)
            throw new ArgumentException("branched groups share a prefix whose gradient cancels only while no row's ratio is clipped: they need one epoch per batch");
        if (!(o.AdamEps > 0)) throw new ArgumentException($"Adam's epsilon must be positive (got {o.AdamEps})");
        if (o.MaxDraws < 1) throw new ArgumentException($"max draws must be at least 1 (got {o.MaxDraws})");
        if (o.MaxSamples != 0 && o.MaxSamples <= o.GroupSize)
            throw new ArgumentException($"guided groups draw up to max samples in all: it must exceed the group size {o.GroupSize} (got {o.MaxSamples})");
        if (o.MaxSamples > 0 && o.Algorithm is not (RlAlgorithm.Grpo or RlAlgorithm.Rloo))
            throw new ArgumentException($"guided groups put a solution into a group; {o.Algorithm} has no groups (use grpo or rloo)");
        if (o.MaxSamples > 0 && o.BranchAtEntropy) throw new ArgumentException("guided groups sample whole completions: they do not combine with branching at entropy");
        if (o.SftCoef < 0) throw new ArgumentException($"the SFT weight must be non-negative (got {o.SftCoef})");
        if (o.SftSteps < 0 || o.SftBatch < 1) throw new ArgumentException($"SFT steps must be non-negative and the SFT batch positive (got {o.SftSteps}, {o.SftBatch})");
        if (o.SftSteps > 0 && o.MaxSamples == 0 && o.SftPool != SftPool.Start)
            throw new ArgumentException("SFT steps replay the solutions guided groups find: they need max samples (or the start pool)");
        if (o.SftPool == SftPool.Start && o.SftSteps == 0) throw new ArgumentException("the start pool is replayed by SFT steps: it needs SFT steps");
        if ((o.SftPool == SftPool.Start || o.ReplayStart) && (o.PoolProblems < 1 || o.PoolMaxSamples < 1))
            throw new ArgumentException($"the start pool needs at least one problem and one sample each (got {o.PoolProblems}, {o.PoolMaxSamples})");
        if (o.ReplayStart && o.Algorithm is not (RlAlgorithm.Grpo or RlAlgorithm.Rloo))
            throw new ArgumentException($"replay puts a start-pool solution into a group; {o.Algorithm} has no groups (use grpo or rloo)");
        if (o.ReplayStart && (o.MaxSamples > 0 || o.DynamicSampling || o.BranchAtEntropy))
            throw new ArgumentException("replay of the start pool draws its own prompts and fills unsolved groups itself: it does not combine with guided groups, dynamic sampling or branching");
        if (o.SftLr is { } sftLr && (o.SftSteps == 0 || !(sftLr >= 0)))
            throw new ArgumentException($"an SFT rate needs SFT steps and must be non-negative (got {sftLr} with {o.SftSteps} steps)");
        if (o.SftCoef > 0 && o.MaxSamples == 0) throw new ArgumentException("the SFT term imitates the solutions guided groups find: it needs max samples");
    }

    static string InitOf(LoadedPolicy p) =>
        p.State.Extra?.GetValueOrDefault("init") ?? throw new InvalidDataException($"checkpoint '{p.Dir}': ponder.json does not name the start policy ('init')");

    /// <summary>Token rewards (N, T): each row's reward on its last action token.</summary>
    static Tensor LastTokenRewards(Tensor mask, Tensor rewards)
    {
        var positions = arange(mask.shape[1], device: mask.device).unsqueeze(0) * mask;   // (N, T)
        var last = positions.argmax(1, keepdim: true);                                    // (N, 1)
        return zeros_like(mask).scatter(1, last, rewards.unsqueeze(1).to(mask.dtype)) * mask;
    }

    static JsonObject EvalRow(long step, double acc, int count) => new() { ["step"] = step, ["eval_greedy"] = acc, ["eval_count"] = count };

    static void LoadValueHead(TorchSharp.Modules.Linear head, IReadOnlyDictionary<string, Tensor> saved, string dir)
    {
        using var noGrad = no_grad();
        foreach (var (name, p) in head.named_parameters())
        {
            if (!saved.TryGetValue(ValueHeadPrefix + name, out var t))
                throw new InvalidDataException($"{Path.Combine(dir, Checkpoint.OptimizerFile)}: missing tensor 'value_head.{name}'");
            p.copy_(t.to(p.dtype, p.device));
        }
    }

    void Save(Transformer model, ITokenizer tokenizer, ITask task, AdamW optimizer, TorchSharp.Modules.Linear? valueHead, string init, long step, double baseline)
    {
        var o = options;
        var state = optimizer.State();
        if (valueHead is not null)
            foreach (var (name, p) in valueHead.named_parameters()) state[ValueHeadPrefix + name] = p;
        var extra = new Dictionary<string, string>
        {
            ["init"] = init,
            ["algorithm"] = o.Algorithm.ToString().ToLowerInvariant(),
            ["baseline"] = baseline.ToString("R", CultureInfo.InvariantCulture),
            ["total_steps"] = o.Steps.ToString(CultureInfo.InvariantCulture),
            ["lr"] = o.Lr.ToString("R", CultureInfo.InvariantCulture),
            ["prompts"] = o.PromptsPerStep.ToString(CultureInfo.InvariantCulture),
            ["group"] = o.GroupSize.ToString(CultureInfo.InvariantCulture),
        };
        Resumption.KeepCommand(extra, o.Command);
        Checkpoint.Save(o.Out, model.Config, model, tokenizer,
            new CheckpointState { Task = task.Name, Step = step, Seed = o.Seed, Kind = "policy", Extra = extra, HasOptimizerState = true }, state);
    }
}
