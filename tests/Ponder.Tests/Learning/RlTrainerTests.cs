using System.Text.Json.Nodes;
using Ponder.Learning;
using Ponder.Policy;
using Ponder.Rewards;
using Ponder.Tasks;
using static TorchSharp.torch;

namespace Ponder.Tests.Learning;

public sealed class RlTrainerTests : IDisposable
{
    readonly TempDirectory dir = new();

    RlOptions Options(string start, RlAlgorithm algorithm, string name) => new()
    {
        Policy = start, Out = dir.File(name), Algorithm = algorithm, Steps = 12, PromptsPerStep = 4, GroupSize = 8,
        Lr = 1e-2, Warmup = 1, EvalEvery = 0, EvalCount = 4, CheckpointEvery = 0, Seed = 5,
        EpochsPerBatch = algorithm == RlAlgorithm.Ppo ? 2 : 1,
    };

    [Theory]
    [InlineData(RlAlgorithm.Reinforce)]
    [InlineData(RlAlgorithm.Rloo)]
    [InlineData(RlAlgorithm.Grpo)]
    [InlineData(RlAlgorithm.Ppo)]
    public void Each_algorithm_raises_the_reward_of_a_toy_policy(RlAlgorithm algorithm)
    {
        // Given a random tiny policy that starts a completion with a digit about 10% of the time
        string start = ToyBandit.TinyPolicy(dir);
        double before = ToyBandit.DigitFirstProbability(start);

        // When trained 20 rollout batches with the algorithm (after 12, RLOO stood at 0.28 with this seed: too near the bar)
        var o = Options(start, algorithm, algorithm.ToString()) with { Steps = 20 };
        new RlTrainer(o, CPU, new ToyBandit.StartsWithDigit()).Run();

        // Then the probability of the rewarded behaviour has at least doubled
        double after = ToyBandit.DigitFirstProbability(o.Out);
        Assert.True(after > 2 * before && after > 0.3, $"{algorithm}: P(digit first) {before:F3} → {after:F3}");
    }

    [Fact]
    public void Ppo_with_a_clipped_value_loss_and_dr_grpo_with_a_constant_normalizer_still_raise_the_reward()
    {
        // Given the toy policy
        string start = ToyBandit.TinyPolicy(dir);
        double before = ToyBandit.DigitFirstProbability(start);

        // When trained by PPO whose value loss is clipped as TRL's (0.2), and by Dr. GRPO (no std, constant normalizer)
        var ppo = Options(start, RlAlgorithm.Ppo, "ppo-value-clip") with { Steps = 20, ValueClip = 0.2 };
        new RlTrainer(ppo, CPU, new ToyBandit.StartsWithDigit()).Run();
        var dr = Options(start, RlAlgorithm.Grpo, "dr-grpo") with { Steps = 20, NormalizeStd = false, Aggregation = LossAggregation.Constant };
        new RlTrainer(dr, CPU, new ToyBandit.StartsWithDigit()).Run();

        // Then both learn the rewarded behaviour, and the value clip is refused for an algorithm without a value head
        foreach (var o in new[] { ppo, dr })
        {
            double after = ToyBandit.DigitFirstProbability(o.Out);
            Assert.True(after > 2 * before && after > 0.3, $"{o.Out}: P(digit first) {before:F3} → {after:F3}");
        }
        var error = Assert.Throws<ArgumentException>(() => RlTrainer.Validate(dr with { ValueClip = 0.2 }));
        Assert.Contains("--value-clip", error.Message);
    }

    [Fact]
    public void Grpo_with_clip_higher_and_top_entropy_tokens_still_raises_the_reward_and_logs_the_gradient_norm()
    {
        // Given the toy policy, trained with two optimizer steps a batch, clip-higher and the top half of tokens by entropy
        string start = ToyBandit.TinyPolicy(dir);
        double before = ToyBandit.DigitFirstProbability(start);
        var o = Options(start, RlAlgorithm.Grpo, "dapo-like") with { EpochsPerBatch = 2, ClipEpsHigh = 0.28, TopEntropy = 0.9 };
        new RlTrainer(o, CPU, new ToyBandit.StartsWithDigit()).Run();

        // Then it learns the rewarded behaviour, and every batch logs a positive gradient norm
        double after = ToyBandit.DigitFirstProbability(o.Out);
        Assert.True(after > 2 * before && after > 0.3, $"P(digit first) {before:F3} → {after:F3}");
        var rows = MetricsLog.Read(Path.Combine(o.Out, "metrics.jsonl")).Where(r => r.ContainsKey("reward")).ToList();
        Assert.Equal(12, rows.Count);
        Assert.All(rows, r => Assert.True(r["grad_norm"]!.GetValue<double>() > 0));
    }

    [Fact]
    public void Grpo_from_better_than_average_rollouts_only_still_raises_the_reward_by_another_path()
    {
        // Given the toy policy, trained with negative advantages weighted 0 and, separately, as published
        string start = ToyBandit.TinyPolicy(dir);
        double before = ToyBandit.DigitFirstProbability(start);
        var positive = Options(start, RlAlgorithm.Grpo, "positive") with { NegativeWeight = 0 };
        var plain = Options(start, RlAlgorithm.Grpo, "plain") with { Steps = 1 };
        new RlTrainer(positive, CPU, new ToyBandit.StartsWithDigit()).Run();
        new RlTrainer(plain, CPU, new ToyBandit.StartsWithDigit()).Run();

        // Then it learns the rewarded behaviour, from a first batch whose loss differs from the published algorithm's
        double after = ToyBandit.DigitFirstProbability(positive.Out);
        Assert.True(after > 2 * before && after > 0.3, $"P(digit first) {before:F3} → {after:F3}");
        static double FirstLoss(string outDir) =>
            MetricsLog.Read(Path.Combine(outDir, "metrics.jsonl")).First(r => r.ContainsKey("loss"))["loss"]!.GetValue<double>();
        Assert.NotEqual(FirstLoss(plain.Out), FirstLoss(positive.Out));
    }

    [Fact]
    public void Same_seed_gives_the_same_learning_curve()
    {
        string start = ToyBandit.TinyPolicy(dir);
        var a = Options(start, RlAlgorithm.Grpo, "a") with { Steps = 3 };
        var b = Options(start, RlAlgorithm.Grpo, "b") with { Steps = 3 };
        new RlTrainer(a, CPU, new ToyBandit.StartsWithDigit()).Run();
        new RlTrainer(b, CPU, new ToyBandit.StartsWithDigit()).Run();

        static List<string> Rows(string outDir) => MetricsLog.Read(Path.Combine(outDir, "metrics.jsonl"))
            .Select(r => { r.Remove("elapsed_s"); return r.ToJsonString(); }).ToList();
        Assert.Equal(Rows(a.Out), Rows(b.Out));
        Assert.Equal(5, Rows(a.Out).Count);   // eval at 0, three steps, eval at the end
    }

    [Theory]
    [InlineData(RlAlgorithm.Grpo)]
    [InlineData(RlAlgorithm.Ppo)]
    public void Resume_continues_the_same_learning_curve(RlAlgorithm algorithm)
    {
        string start = ToyBandit.TinyPolicy(dir);
        var straight = Options(start, algorithm, "straight") with { Steps = 4 };
        new RlTrainer(straight, CPU, new ToyBandit.StartsWithDigit()).Run();

        var split = Options(start, algorithm, "split") with { Steps = 4 };
        using (var cancel = new CancellationTokenSource())
            new RlTrainer(split, CPU, new ToyBandit.StartsWithDigit()).Run(new CancelAt(2, cancel), cancel.Token);
        new RlTrainer(split with { Resume = true }, CPU, new ToyBandit.StartsWithDigit()).Run();

        Assert.Equal(4, Curve(split.Out).Count);
        Assert.Equal(Curve(straight.Out), Curve(split.Out));
    }

    [Fact]
    public void Sft_steps_replay_the_guided_solutions_and_resume_exactly()
    {
        // Given a toy policy right about 10% of the time, guided groups and two SFT steps after each RL update
        string start = ToyBandit.TinyPolicy(dir);
        var straight = Options(start, RlAlgorithm.Grpo, "replay") with { Steps = 4, GroupSize = 4, MaxSamples = 64, SftSteps = 2, SftBatch = 4 };
        new RlTrainer(straight, CPU, new ToyBandit.StartsWithDigit()).Run();
        var split = straight with { Out = dir.File("replay-split") };
        using (var cancel = new CancellationTokenSource())
            new RlTrainer(split, CPU, new ToyBandit.StartsWithDigit()).Run(new CancelAt(2, cancel), cancel.Token);
        new RlTrainer(split with { Resume = true }, CPU, new ToyBandit.StartsWithDigit()).Run();

        // Then the pool holds every guided solution, each one right, the SFT steps train on it, and a resumed run
        // continues with the same pool: the same curve to the digit
        var rows = MetricsLog.Read(Path.Combine(straight.Out, "metrics.jsonl")).Where(r => r.ContainsKey("reward")).ToList();
        var lines = File.ReadAllLines(Path.Combine(straight.Out, GuidedSolutions.File));
        Assert.Equal(rows.Sum(r => r["guided"]!.GetValue<int>()), lines.Length);
        Assert.Equal(lines.Length, rows[^1]["solutions_found"]!.GetValue<int>());
        Assert.True(lines.Length > 0, "no solution was found");
        Assert.All(lines, l => Assert.True(char.IsAsciiDigit(JsonNode.Parse(l)!["completion"]!.GetValue<string>()[0]), l));
        Assert.All(rows.Where(r => r["solutions_found"]!.GetValue<int>() > 0), r => Assert.InRange(r["sft_loss"]!.GetValue<double>(), 1e-4, 50));
        Assert.Equal(Curve(straight.Out), Curve(split.Out));
        Assert.Equal(lines, File.ReadAllLines(Path.Combine(split.Out, GuidedSolutions.File)));
    }

    [Fact]
    public void The_verified_pool_keeps_every_distinct_solution_not_only_the_guided_ones()
    {
        string start = ToyBandit.TinyPolicy(dir);
        var guided = Options(start, RlAlgorithm.Grpo, "pool-guided") with { Steps = 2, GroupSize = 4, MaxSamples = 64, SftSteps = 1, SftBatch = 4 };
        var verified = guided with { Out = dir.File("pool-verified"), SftPool = SftPool.Verified };
        new RlTrainer(guided, CPU, new ToyBandit.StartsWithDigit()).Run();
        new RlTrainer(verified, CPU, new ToyBandit.StartsWithDigit()).Run();

        // The first step samples the same rollouts in both runs: the verified pool holds its guided solutions and the
        // groups' own right rollouts besides, each distinct, each right
        var a = File.ReadAllLines(Path.Combine(guided.Out, GuidedSolutions.File)).Select(l => JsonNode.Parse(l)!).Where(n => n["round"]!.GetValue<int>() == 1).ToList();
        var b = File.ReadAllLines(Path.Combine(verified.Out, GuidedSolutions.File)).Select(l => JsonNode.Parse(l)!).Where(n => n["round"]!.GetValue<int>() == 1).ToList();
        static string Key(JsonNode n) => n["prompt"]!.GetValue<string>() + "\u0001" + n["completion"]!.GetValue<string>();
        Assert.NotEmpty(a);
        Assert.Subset(b.Select(Key).ToHashSet(), a.Select(Key).ToHashSet());
        Assert.True(b.Count > a.Count, $"verified pool {b.Count}, guided {a.Count}");
        Assert.Equal(b.Count, b.Select(Key).Distinct().Count());
        Assert.All(b, n => Assert.True(char.IsAsciiDigit(n["completion"]!.GetValue<string>()[0])));
    }

    [Fact]
    public void The_start_pool_is_expert_iteration_s_first_round_and_the_policy_being_trained_never_adds_to_it()
    {
        // Given a toy policy right about 10% of the time, SFT steps on the start pool and no guided groups
        string start = ToyBandit.TinyPolicy(dir);
        var straight = Options(start, RlAlgorithm.Grpo, "pool-start") with
        {
            Steps = 4, GroupSize = 4, SftSteps = 2, SftBatch = 4, SftPool = SftPool.Start, PoolProblems = 24, PoolMaxSamples = 16, SftLr = 3e-3,
        };
        new RlTrainer(straight, CPU, new ToyBandit.StartsWithDigit()).Run();
        var split = straight with { Out = dir.File("pool-start-split") };
        using (var cancel = new CancellationTokenSource())
            new RlTrainer(split, CPU, new ToyBandit.StartsWithDigit()).Run(new CancelAt(2, cancel), cancel.Token);
        new RlTrainer(split with { Resume = true }, CPU, new ToyBandit.StartsWithDigit()).Run();

        // And expert iteration's first round with the same seed, problems and sampling cap
        var ei = new ExpertIterationOptions
        {
            Policy = start, Out = dir.File("pool-ei"), Rounds = 1, ProblemsPerRound = 24, SamplesPerProblem = 1, MaxSamples = 16,
            Epochs = null, StepsPerRound = 1, EvalCount = 4, Seed = straight.Seed,
        };
        new ExpertIteration(ei, CPU, taskOverride: new ToyBandit.StartsWithDigit()).Run();

        // Then the pool is that round's kept solutions, all sampled before step 1, and the SFT steps train on it
        static List<(string, string)> Pairs(string path) => File.ReadAllLines(path).Select(l => JsonNode.Parse(l)!)
            .Select(n => (n["prompt"]!.GetValue<string>(), n["completion"]!.GetValue<string>())).ToList();
        var pool = File.ReadAllLines(Path.Combine(straight.Out, GuidedSolutions.File)).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.NotEmpty(pool);
        Assert.All(pool, n => Assert.Equal(0, n["round"]!.GetValue<int>()));
        Assert.Equal(Pairs(Path.Combine(ei.Out, VerifiedSolutions.FileName)), Pairs(Path.Combine(straight.Out, GuidedSolutions.File)));
        var rows = MetricsLog.Read(Path.Combine(straight.Out, "metrics.jsonl")).ToList();
        Assert.Equal(pool.Count, rows.Single(r => r.ContainsKey("pool"))["pool"]!.GetValue<int>());
        var steps = rows.Where(r => r.ContainsKey("reward")).ToList();
        Assert.All(steps, r => Assert.Equal(pool.Count, r["solutions_found"]!.GetValue<int>()));
        Assert.All(steps, r => Assert.InRange(r["sft_loss"]!.GetValue<double>(), 1e-4, 50));

        // And a resumed run samples no pool again and continues on the same curve
        Assert.Equal(Curve(straight.Out), Curve(split.Out));
        Assert.Equal(File.ReadAllLines(Path.Combine(straight.Out, GuidedSolutions.File)), File.ReadAllLines(Path.Combine(split.Out, GuidedSolutions.File)));
        Assert.Single(MetricsLog.Read(Path.Combine(split.Out, "metrics.jsonl")), r => r.ContainsKey("pool"));
    }

    [Fact]
    public void Replay_fills_groups_that_solve_nothing_from_the_start_pool_and_resumes_exactly()
    {
        // Given a toy policy right about 10% of the time, replay of its start pool and no SFT steps
        string start = ToyBandit.TinyPolicy(dir);
        var straight = Options(start, RlAlgorithm.Grpo, "replay-start") with { Steps = 4, GroupSize = 4, ReplayStart = true, PoolProblems = 24, PoolMaxSamples = 16 };
        new RlTrainer(straight, CPU, new ToyBandit.StartsWithDigit()).Run();
        var split = straight with { Out = dir.File("replay-start-split") };
        using (var cancel = new CancellationTokenSource())
            new RlTrainer(split, CPU, new ToyBandit.StartsWithDigit()).Run(new CancelAt(2, cancel), cancel.Token);
        new RlTrainer(split with { Resume = true }, CPU, new ToyBandit.StartsWithDigit()).Run();

        // Then the pool is sampled once before step 1 and never added to; groups that solved nothing took its solutions
        var pool = File.ReadAllLines(Path.Combine(straight.Out, GuidedSolutions.File)).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.NotEmpty(pool);
        Assert.All(pool, n => Assert.Equal(0, n["round"]!.GetValue<int>()));
        var steps = MetricsLog.Read(Path.Combine(straight.Out, "metrics.jsonl")).Where(r => r.ContainsKey("reward")).ToList();
        Assert.Equal(4, steps.Count);
        Assert.All(steps, r => Assert.InRange(r["replayed"]!.GetValue<int>(), 0, r["unsolved_groups"]!.GetValue<int>()));
        Assert.True(steps.Sum(r => r["replayed"]!.GetValue<int>()) > 0, "no group took a replayed solution");
        Assert.DoesNotContain(steps, r => r.ContainsKey("sft_loss"));

        // And a resumed run samples no pool again and continues on the same curve
        Assert.Equal(Curve(straight.Out), Curve(split.Out));
        Assert.Single(MetricsLog.Read(Path.Combine(split.Out, "metrics.jsonl")), r => r.ContainsKey("pool"));
    }

    [Fact]
    public void Replay_prompts_are_passes_over_the_pool_and_only_groups_that_solve_nothing_take_a_stored_solution()
    {
        var toy = new ToyBandit.StartsWithDigit();
        var problems = toy.Problems(Split.Train, 6, 3);
        var replay = new StartReplay(problems, new Dictionary<string, string> { [problems[0].Prompt] = "7", [problems[1].Prompt] = "8" }, promptsPerStep: 4, seed: 1);

        // Six problems, four prompts a step: steps 1–3 are two passes, each every problem once, in different orders
        var prompts = Enumerable.Range(1, 3).SelectMany(s => replay.Prompts(s)).Select(p => p.Id).ToList();
        Assert.Equal(problems.Select(p => p.Id).Order(), prompts.Take(6).Order());
        Assert.Equal(problems.Select(p => p.Id).Order(), prompts.Skip(6).Order());
        Assert.NotEqual(prompts.Take(6), prompts.Skip(6));
        Assert.Equal(prompts.Take(4), replay.Prompts(1).Select(p => p.Id));

        // Groups of 2: problem 0 solved by nothing (takes "7"), problem 1 solved by its first row (untouched), problem 2
        // solved by nothing and without a stored solution (untouched, but counted)
        var tokenizer = new CharTokenizer();
        var reward = new VerifierReward(toy);
        Generation Gen(string text) => new(tokenizer.Encode(text), new float[text.Length], text, FinishReason.Eos, null);
        var gens = new List<Generation> { Gen("a"), Gen("b"), Gen("5"), Gen("c"), Gen("d"), Gen("e") };
        var rewards = new double[6];
        var replayed = new bool[6];
        int unsolved = replay.Fill([problems[0], problems[1], problems[2]], 2, tokenizer, reward, gens, rewards, replayed);

        Assert.Equal(2, unsolved);
        Assert.Equal([false, true, false, false, false, false], replayed);
        Assert.Equal("7", gens[1].Text);
        Assert.Equal([.. tokenizer.Encode("7"), tokenizer.Eos], gens[1].Tokens);
        Assert.Equal(1.0, rewards[1]);
        Assert.Equal(["a", "7", "5", "c", "d", "e"], gens.Select(g => g.Text));
    }

    [Fact]
    public void A_start_pool_with_no_solution_is_an_error_before_training()
    {
        string start = ToyBandit.TinyPolicy(dir);
        var o = Options(start, RlAlgorithm.Grpo, "pool-empty") with { Steps = 2, GroupSize = 4, SftSteps = 1, SftPool = SftPool.Start, PoolProblems = 8, PoolMaxSamples = 4 };
        var e = Assert.Throws<InvalidOperationException>(() => new RlTrainer(o, CPU, new NeverRight()).Run());
        Assert.Contains("solved none of 8 train problems", e.Message);
        Assert.DoesNotContain(MetricsLog.Read(Path.Combine(o.Out, "metrics.jsonl")), r => r.ContainsKey("reward"));
    }

    /// <summary>The toy task with a verifier that accepts nothing.</summary>
    sealed class NeverRight : ITask
    {
        readonly ToyBandit.StartsWithDigit toy = new();
        public string Name => toy.Name;
        public bool HasStepChecker => false;
        public IReadOnlyList<Problem> Problems(Split split, int count, int seed) => toy.Problems(split, count, seed);
        public Outcome Check(Problem problem, string completion) => new(false, null, false, "never right");
        public IReadOnlyList<string>? GoldSolution(Problem problem) => null;
        public bool CheckStep(Problem problem, IReadOnlyList<string> steps) => throw new NotSupportedException();
    }

    [Fact]
    public void The_sft_rate_moves_only_the_sft_steps()
    {
        string start = ToyBandit.TinyPolicy(dir);
        var a = Options(start, RlAlgorithm.Grpo, "sft-lr-a") with { Steps = 2, GroupSize = 4, SftSteps = 1, SftBatch = 4, SftPool = SftPool.Start, PoolProblems = 16, PoolMaxSamples = 8 };
        var b = a with { Out = dir.File("sft-lr-b"), SftLr = a.Lr / 10 };
        new RlTrainer(a, CPU, new ToyBandit.StartsWithDigit()).Run();
        new RlTrainer(b, CPU, new ToyBandit.StartsWithDigit()).Run();

        // The first RL update is the same (same rollouts, same rate); the SFT step after it differs, and so does step 2
        var ra = MetricsLog.Read(Path.Combine(a.Out, "metrics.jsonl")).Where(r => r.ContainsKey("reward")).ToList();
        var rb = MetricsLog.Read(Path.Combine(b.Out, "metrics.jsonl")).Where(r => r.ContainsKey("reward")).ToList();
        Assert.Equal(ra[0]["loss"]!.GetValue<double>(), rb[0]["loss"]!.GetValue<double>());
        Assert.Equal(ra[0]["lr"]!.GetValue<double>(), rb[0]["lr"]!.GetValue<double>());
        Assert.NotEqual(ra[1]["loss"]!.GetValue<double>(), rb[1]["loss"]!.GetValue<double>());
    }

    [Fact]
    public void A_decaying_rate_still_moves_the_last_batch()
    {
        string start = ToyBandit.TinyPolicy(dir);
        var o = Options(start, RlAlgorithm.Grpo, "decay") with { Steps = 3, GroupSize = 4, Warmup = 0, Decay = LrDecay.Linear };
        new RlTrainer(o, CPU, new ToyBandit.StartsWithDigit()).Run();

        var rates = MetricsLog.Read(Path.Combine(o.Out, "metrics.jsonl")).Where(r => r.ContainsKey("reward")).Select(r => r["lr"]!.GetValue<double>()).ToList();
        Assert.Equal(3, rates.Count);
        Assert.True(rates[0] > rates[1] && rates[1] > rates[2] && rates[2] > 0, string.Join(", ", rates));
    }

    /// <summary>A run's step rows as JSON text, wall time left out: equal curves are equal to the digit.</summary>
    static List<string> Curve(string outDir) => MetricsLog.Read(Path.Combine(outDir, "metrics.jsonl"))
        .Where(r => r.ContainsKey("reward")).Select(r => { r.Remove("elapsed_s"); return r.ToJsonString(); }).ToList();

    sealed class CancelAt(int step, CancellationTokenSource cancel) : IProgress<TrainProgress>
    {
        public void Report(TrainProgress p)
        {
            if (p.Step >= step && p.Message is null) cancel.Cancel();
        }
    }

    [Fact]
    public void Group_algorithms_refuse_a_group_of_one_before_training()
    {
        string start = ToyBandit.TinyPolicy(dir);
        var o = Options(start, RlAlgorithm.Grpo, "g1") with { GroupSize = 1 };
        var e = Assert.Throws<ArgumentException>(() => new RlTrainer(o, CPU, new ToyBandit.StartsWithDigit()).Run());
        Assert.Contains("at least 2 samples", e.Message);
        Assert.False(Directory.Exists(o.Out));
    }

    [Fact]
    public void Dynamic_sampling_keeps_only_groups_with_mixed_rewards_and_meters_every_rollout()
    {
        // Given a toy policy right about 10% of the time, so most groups of 8 are all wrong
        string start = ToyBandit.TinyPolicy(dir);
        var o = Options(start, RlAlgorithm.Grpo, "dapo") with { Steps = 3, DynamicSampling = true, MaxDraws = 6 };

        // When GRPO runs with dynamic sampling
        new RlTrainer(o, CPU, new ToyBandit.StartsWithDigit()).Run();

        // Then every kept group holds right and wrong samples (batch accuracy strictly inside (0, 1) per group),
        // more rollouts were drawn than kept, and the rollout count is the running sum of everything drawn
        var steps = MetricsLog.Read(Path.Combine(o.Out, "metrics.jsonl")).Where(r => r.ContainsKey("reward")).ToList();
        Assert.Equal(3, steps.Count);
        long sum = 0, kept = 0;
        foreach (var r in steps)
        {
            int groups = r["groups"]!.GetValue<int>(), drawn = r["rollouts_drawn"]!.GetValue<int>();
            double acc = r["accuracy"]!.GetValue<double>();
            Assert.InRange(groups, 1, o.PromptsPerStep);
            Assert.InRange(acc, 1.0 / o.GroupSize - 1e-9, 1 - 1.0 / o.GroupSize + 1e-9);
            Assert.True(drawn >= groups * o.GroupSize, $"drew {drawn} rollouts for {groups} kept groups");
            sum += drawn;
            kept += groups * o.GroupSize;
            Assert.Equal(sum, r["rollouts"]!.GetValue<long>());
        }
        Assert.True(sum > kept, $"drew {sum} rollouts, kept {kept}: no group was dropped");
    }

    [Fact]
    public void Guided_groups_put_a_solution_into_every_group_that_had_none()
    {
        // Given a toy policy right about 10% of the time: a group of 4 solves nothing two times in three
        string start = ToyBandit.TinyPolicy(dir);
        var o = Options(start, RlAlgorithm.Grpo, "guided") with { Steps = 3, GroupSize = 4, MaxSamples = 64, Lr = 1e-4 };

        // When GRPO runs with guided groups (up to 64 samples a prompt)
        new RlTrainer(o, CPU, new ToyBandit.StartsWithDigit()).Run();

        // Then groups needed guidance, most got a solution, and every group but the ones still unsolved holds a right
        // rollout: the batch has at least that many right answers; every extra sample is metered
        var steps = MetricsLog.Read(Path.Combine(o.Out, "metrics.jsonl")).Where(r => r.ContainsKey("reward")).ToList();
        Assert.Equal(3, steps.Count);
        int rows = o.PromptsPerStep * o.GroupSize, needed = 0;
        long sum = 0;
        foreach (var r in steps)
        {
            int unsolved = r["unsolved_groups"]!.GetValue<int>(), guided = r["guided"]!.GetValue<int>(), drawn = r["rollouts_drawn"]!.GetValue<int>();
            double right = r["accuracy"]!.GetValue<double>() * rows;
            Assert.InRange(guided, 0, unsolved);
            Assert.True(right >= o.PromptsPerStep - (unsolved - guided) - 1e-6, $"{right} right answers, {unsolved} groups needed guidance, {guided} got it");
            Assert.True(unsolved == 0 ? drawn == rows : drawn > rows, $"drew {drawn} rollouts with {unsolved} unsolved groups");
            needed += unsolved;
            sum += drawn;
            Assert.Equal(sum, r["rollouts"]!.GetValue<long>());
        }
        Assert.True(needed > 0, "no group needed guidance");
        Assert.True(steps.Sum(r => r["guided"]!.GetValue<int>()) > needed / 2, "guidance found few solutions");
    }

    [Fact]
    public void The_sft_term_imitates_the_guided_solutions_and_changes_the_update()
    {
        string start = ToyBandit.TinyPolicy(dir);
        var plain = Options(start, RlAlgorithm.Grpo, "plain") with { Steps = 2, GroupSize = 4, MaxSamples = 64 };
        var sft = plain with { Out = dir.File("sft"), SftCoef = 1 };

        new RlTrainer(plain, CPU, new ToyBandit.StartsWithDigit()).Run();
        new RlTrainer(sft, CPU, new ToyBandit.StartsWithDigit()).Run();

        // The first step's rollouts are the same (same weights, same seeds); the SFT term's NLL is a real loss and the
        // second step's rollouts come from different weights
        var a = MetricsLog.Read(Path.Combine(plain.Out, "metrics.jsonl")).Where(r => r.ContainsKey("reward")).ToList();
        var b = MetricsLog.Read(Path.Combine(sft.Out, "metrics.jsonl")).Where(r => r.ContainsKey("reward")).ToList();
        Assert.Equal(a[0]["reward"]!.GetValue<double>(), b[0]["reward"]!.GetValue<double>());
        Assert.False(a[0].ContainsKey("sft_nll"));
        Assert.InRange(b[0]["sft_nll"]!.GetValue<double>(), 0.01, 50);
        Assert.NotEqual(a[1]["grad_norm"]!.GetValue<double>(), b[1]["grad_norm"]!.GetValue<double>());
    }

    [Theory]
    [InlineData(RlAlgorithm.Grpo, 8, 0.0, "must exceed the group size")]
    [InlineData(RlAlgorithm.Reinforce, 64, 0.0, "has no groups")]
    [InlineData(RlAlgorithm.Grpo, 0, 1.0, "needs max samples")]
    [InlineData(RlAlgorithm.Grpo, 0, 0.0, "they need max samples", 2)]
    [InlineData(RlAlgorithm.Grpo, 0, 0.0, "it needs SFT steps", 0, SftPool.Start)]
    [InlineData(RlAlgorithm.Grpo, 0, 0.0, "an SFT rate needs SFT steps", 0, SftPool.Guided, 1e-3)]
    [InlineData(RlAlgorithm.Reinforce, 0, 0.0, "has no groups", 0, SftPool.Guided, null, true)]
    [InlineData(RlAlgorithm.Grpo, 64, 0.0, "does not combine with guided groups", 0, SftPool.Guided, null, true)]
    public void Guided_groups_refuse_settings_that_cannot_work_before_training(RlAlgorithm algorithm, int maxSamples, double sftCoef, string message,
        int sftSteps = 0, SftPool pool = SftPool.Guided, double? sftLr = null, bool replay = false)
    {
        string start = ToyBandit.TinyPolicy(dir);
        var o = Options(start, algorithm, "bad") with
        {
            MaxSamples = maxSamples, SftCoef = sftCoef, SftSteps = sftSteps, SftPool = pool, SftLr = sftLr, ReplayStart = replay,
        };
        var e = Assert.Throws<ArgumentException>(() => new RlTrainer(o, CPU, new ToyBandit.StartsWithDigit()).Run());
        Assert.Contains(message, e.Message);
        Assert.False(Directory.Exists(o.Out));
    }

    [Fact]
    public void Dynamic_sampling_is_refused_for_algorithms_without_groups()
    {
        string start = ToyBandit.TinyPolicy(dir);
        var o = Options(start, RlAlgorithm.Reinforce, "dr") with { DynamicSampling = true };
        var e = Assert.Throws<ArgumentException>(() => new RlTrainer(o, CPU, new ToyBandit.StartsWithDigit()).Run());
        Assert.Contains("dynamic sampling", e.Message);
    }

    [Fact]
    public void Branched_rollouts_share_the_greedy_completion_up_to_its_highest_entropy_token()
    {
        // Given the bigram policy whose greedy completion is '#', '4', EOS, with entropies 1.040 ('#' after a newline:
        // 0.5, 0.25, 0.25), 1.030 ('4' after '#': 0.5, 0.3, 0.2) and 1.275 (EOS after a digit: 0.45, 0.25, 0.15, 0.15)
        var policy = LoadedPolicy.Load(Serving.TinyServedModel.Save(dir), CPU);
        var generator = new Ponder.Policy.Generator(policy.Model, policy.Tokenizer);
        var problems = new[] { new Problem("a", Serving.TinyServedModel.Problem + "\n", "4"), new Problem("b", Serving.TinyServedModel.Problem + "\n", "7") };

        // When 8 rollouts a problem branch from it
        var (rollouts, branchAt) = RlTrainer.BranchedRollouts(problems, policy.Tokenizer, generator,
            new SamplingOptions { Temperature = 1, MaxNewTokens = 12, Seed = 3 }, group: 8);

        // Then every rollout starts with "#4" and samples from the third token on, so the group's continuations differ
        Assert.Equal(16, rollouts.Count);
        Assert.All(rollouts, r => Assert.StartsWith("#4", r.Text, StringComparison.Ordinal));
        Assert.All(branchAt, at => Assert.Equal(2, at));
        Assert.All(rollouts, r => Assert.True(r.Tokens.Length >= 3 && r.Tokens.Length == r.LogProbs.Length));
        Assert.True(rollouts.Take(8).Select(r => r.Text).Distinct().Count() > 1);

        // And sampling only that token, then greedily, ends each rollout as greedy decoding goes on from its choice:
        // EOS; '\n' then "#4"; '1' or '2' then EOS
        var (judged, _) = RlTrainer.BranchedRollouts(problems, policy.Tokenizer, generator,
            new SamplingOptions { Temperature = 1, MaxNewTokens = 12, Seed = 3 }, group: 8, thenGreedy: true);
        Assert.Equal(16, judged.Count);
        Assert.All(judged, r => Assert.Contains(r.Text, new[] { "#4", "#4\n#4", "#41", "#42" }));
        Assert.All(judged, r => Assert.Equal(r.Tokens.Length, r.LogProbs.Length));
        Assert.True(judged.Select(r => r.Text).Distinct().Count() > 2);
    }

    [Fact]
    public void Adam_epsilon_reaches_the_optimizer_and_must_be_positive()
    {
        // Given the toy policy trained two batches with the default ε and with ε = 1 (which damps every step)
        string start = ToyBandit.TinyPolicy(dir);
        var plain = Options(start, RlAlgorithm.Grpo, "eps-default") with { Steps = 2 };
        var damped = plain with { Out = dir.File("eps-1"), AdamEps = 1 };
        new RlTrainer(plain, CPU, new ToyBandit.StartsWithDigit()).Run();
        new RlTrainer(damped, CPU, new ToyBandit.StartsWithDigit()).Run();

        // Then the first batches are the same and the second, after one update, differ
        static double[] Entropies(string outDir) =>
            MetricsLog.Read(Path.Combine(outDir, "metrics.jsonl")).Where(r => r.ContainsKey("entropy")).Select(r => r["entropy"]!.GetValue<double>()).ToArray();
        var (a, b) = (Entropies(plain.Out), Entropies(damped.Out));
        Assert.Equal(a[0], b[0]);
        Assert.NotEqual(a[1], b[1]);
        var e = Assert.Throws<ArgumentException>(() => new RlTrainer(plain with { Out = dir.File("eps-0"), AdamEps = 0 }, CPU, new ToyBandit.StartsWithDigit()).Run());
        Assert.Contains("epsilon", e.Message);
    }

    [Fact]
    public void Strict_steps_on_a_task_without_a_step_checker_is_a_clear_error_before_training()
    {
        var o = Options(ToyBandit.TinyPolicy(dir), RlAlgorithm.Grpo, "strict") with { Shaping = new RewardShaping(StrictSteps: true) };
        var e = Assert.Throws<ArgumentException>(() => new RlTrainer(o, CPU, new ToyBandit.StartsWithDigit()).Run());
        Assert.Equal("strict steps need a task with a step checker; 'toy-digit' has none", e.Message);
        Assert.False(File.Exists(Path.Combine(o.Out, "metrics.jsonl")));
    }

    [Fact]
    public void Only_the_branch_token_carries_the_advantage_when_the_rest_is_greedy()
    {
        // Given two rollouts of a 3-token prompt (BOS + 2) with completions of 4 and 2 tokens, branched at tokens 1 and 0
        var policy = LoadedPolicy.Load(Serving.TinyServedModel.Save(dir), CPU);
        var tokenizer = policy.Tokenizer;
        var rows = new[] { new Problem("a", "1\n", "4"), new Problem("b", "1\n", "4") };
        using var batch = RolloutBatch.Build(tokenizer, rows, [tokenizer.Encode("#4\n#"), tokenizer.Encode("#7")], ["#4\n#", "#7"], CPU);

        // When the action mask is built
        using var mask = RlTrainer.ActionMask(batch, [1, 0]);

        // Then it holds a single 1 a row, at the position that predicts the branch token (prompt length − 1 + index)
        Assert.Equal(new float[] { 0, 0, 0, 1, 0, 0, /* row b: */ 0, 0, 1, 0, 0, 0 }, mask.data<float>().ToArray());   // (2, 6)

        // And the tokens each sampled after its greedy prefix (where a branched row's KL estimate counts) run from the branch token on
        using var sampled = RlTrainer.MaskFrom(batch, [1, 0]);
        Assert.Equal(new float[] { 0, 0, 0, 1, 1, 1, /* row b: */ 0, 0, 1, 1, 0, 0 }, sampled.data<float>().ToArray());
    }

    [Fact]
    public void Rollouts_are_scored_at_the_temperature_they_were_sampled_at()
    {
        // Given a rollout batch sampled at temperature 0.5
        var policy = LoadedPolicy.Load(Serving.TinyServedModel.Save(dir), CPU);
        var tokenizer = policy.Tokenizer;
        var rows = new[] { new Problem("a", "1\n", "4") };
        using var plain = RolloutBatch.Build(tokenizer, rows, [tokenizer.Encode("#4")], ["#4"], CPU);
        using var hot = RolloutBatch.Build(tokenizer, rows, [tokenizer.Encode("#4")], ["#4"], CPU, temperature: 0.5);

        // When both are scored
        using var noGrad = no_grad();
        var atOne = plain.Score(policy.Model, entropy: false).LogProbs;
        var atHalf = hot.Score(policy.Model, entropy: false).LogProbs;

        // Then the second reads log-softmax of the logits over 0.5, as the sampler drew them
        var logits = policy.Model.Logits(policy.Model.Hidden(hot.Ids[.., ..^1]));
        var expected = (logits / 0.5).log_softmax(-1).gather(-1, hot.Ids[.., 1..].unsqueeze(-1)).squeeze(-1);
        Assert.True(atHalf.allclose(expected, rtol: 1e-4, atol: 1e-5));
        Assert.False(atHalf.allclose(atOne, rtol: 1e-3, atol: 1e-3));
    }

    [Fact]
    public void Branched_groups_are_refused_where_their_shared_prefix_would_not_cancel()
    {
        var o = new RlOptions { Policy = "p", Out = "o", BranchAtEntropy = true, Aggregation = LossAggregation.Sequence };
        Assert.Contains("need token aggregation and negative weight 1", Assert.Throws<ArgumentException>(() => RlTrainer.Validate(o)).Message);
        Assert.Contains("need token aggregation", Assert.Throws<ArgumentException>(() => RlTrainer.Validate(o with { Aggregation = LossAggregation.Token, NegativeWeight = 0.5 })).Message);
        Assert.Contains("need one epoch per batch", Assert.Throws<ArgumentException>(() => RlTrainer.Validate(o with { Aggregation = LossAggregation.Token, EpochsPerBatch = 2 })).Message);
        var withPrm = new RlTrainer(o with { Aggregation = LossAggregation.Token }, CPU, processReward: new Ponder.Rewards.GoldStepReward(new Ponder.Tasks.ArithTask()));
        Assert.Contains("process rewards give each row its own", Assert.Throws<ArgumentException>(() => withPrm.Run()).Message);
    }

    [Fact]
    public void Grpo_with_branched_rollouts_trains_from_other_rollouts_than_plain_grpo_and_is_refused_without_groups()
    {
        string start = ToyBandit.TinyPolicy(dir);
        var branched = Options(start, RlAlgorithm.Grpo, "branched") with { Steps = 2, BranchAtEntropy = true };
        var plain = Options(start, RlAlgorithm.Grpo, "plain") with { Steps = 2 };
        var judged = branched with { Out = dir.File("judged"), BranchThenGreedy = true };
        new RlTrainer(branched, CPU, new ToyBandit.StartsWithDigit()).Run();
        new RlTrainer(plain, CPU, new ToyBandit.StartsWithDigit()).Run();
        new RlTrainer(judged, CPU, new ToyBandit.StartsWithDigit()).Run();
        static double FirstEntropy(string outDir) =>
            MetricsLog.Read(Path.Combine(outDir, "metrics.jsonl")).First(r => r.ContainsKey("entropy"))["entropy"]!.GetValue<double>();
        Assert.NotEqual(FirstEntropy(plain.Out), FirstEntropy(branched.Out));
        Assert.Equal(2, MetricsLog.Read(Path.Combine(judged.Out, "metrics.jsonl")).Count(r => r.ContainsKey("loss")));

        var reinforce = Options(start, RlAlgorithm.Reinforce, "branched-reinforce") with { BranchAtEntropy = true };
        var e = Assert.Throws<ArgumentException>(() => new RlTrainer(reinforce, CPU, new ToyBandit.StartsWithDigit()).Run());
        Assert.Contains("highest-entropy", e.Message);
        var greedyOnly = Options(start, RlAlgorithm.Grpo, "greedy-only") with { BranchThenGreedy = true };
        Assert.Contains("needs --branch-at-entropy", Assert.Throws<ArgumentException>(() => new RlTrainer(greedyOnly, CPU, new ToyBandit.StartsWithDigit()).Run()).Message);
    }

    public void Dispose() => dir.Dispose();
}
