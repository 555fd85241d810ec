using Ponder.Learning;
using Ponder.Policy;
using Ponder.Rewards;
using Ponder.Tasks;

namespace Ponder.Cli;

/// <summary><c>ponder train rl</c>: policy-gradient RL from a policy checkpoint on the task's verifier reward.</summary>
public static class RlCommand
{
    public const string Usage = """
        ponder train rl --algo grpo|ppo|rloo|reinforce --policy C --out DIR [options]
          --task T             task (default: the policy's)          --steps N        rollout batches (200)
          --prompts N          prompts per batch (16)                --group N        samples per prompt (8)
          --epochs N           optimizer steps per batch (1; PPO 2)  --lr X           learning rate (3e-5)
          --adam-eps X         AdamW's ε (1e-8; larger damps the steps of weights with gradients smaller than it)
          --lr-decay constant|linear|cosine    rate after the warmup, falling to 0 at --steps (constant)
          --warmup N           warmup batches (10)
          --temperature X      rollout temperature (1.0)             --clip X         ratio clip ε (0.2)
          --clip-high X        upper clip ε_high: ratio kept in [1−ε, 1+ε_high] (DAPO's clip-higher; default ε)
          --top-entropy X      policy gradient only on this fraction of tokens, those of highest entropy (1; TRL's top_entropy_quantile)
          --kl X               KL weight β (0.02)                    --kl-estimator none|k1|k3 (k3)
          --entropy X          entropy bonus (0)                     --aggregation token|sequence|constant (token)
          --no-std             GRPO without std normalization (with --aggregation constant: Dr. GRPO, TRL's loss_type dr_grpo)
          --value-clip X       PPO: clip the value loss as TRL does (its cliprange_value, 0.2; 0: unclipped, the default)
          --dynamic-sampling   drop all-equal-reward groups, draw more prompts until the batch is full (DAPO; grpo/rloo)
          --max-draws N        most prompt draws per batch under --dynamic-sampling (4)
          --max-samples N      guided groups: a group that solves nothing draws more samples (doubling, up to N in all) and the
                               first that solves it replaces the group's last rollout (grpo/rloo; off)
          --sft-coef X         with --max-samples: weight of an NLL term on the solutions guided groups found (ReLIFT-style; 0)
          --sft-steps K        with --max-samples or --sft-pool start: K SFT steps after each RL update, on solutions drawn
                               from the pool (0)
          --sft-batch N        solutions per SFT step (64)           --sft-lr X       peak rate of the SFT steps (--lr)
          --sft-pool guided|verified|start   the SFT steps replay guided groups' solutions, every rollout that solved, or
                               the start policy's verified solutions, sampled once before RL as expert iteration does (guided)
          --replay-start       prompts come from the start pool's problems, and a group that solves nothing takes the start
                               policy's verified solution as its last rollout (experience replay, as ExGRPO; grpo/rloo)
          --pool-problems N    with --sft-pool start or --replay-start: train problems the start policy attempts (8192)
          --pool-max-samples N with --sft-pool start or --replay-start: one attempt each, doubling up to N for the unsolved (64)
          --branch-at-entropy  each group continues its prompt's greedy completion from its highest-entropy token (grpo/rloo)
          --branch-then-greedy with --branch-at-entropy: sample only that token, then continue greedily
          --format-reward X --length-penalty X --partial-credit X    reward shaping (0)
          --strict-steps       a right answer is rewarded only if every step checks too (tasks with a step checker)
          --prm C              process rewards from this PRM: step-level group advantages (GRPO/RLOO/REINFORCE) or dense rewards (PPO);
                               'gold' uses the task's exact step checker instead (an oracle PRM: the upper bound for a learned one)
          --outcome-coef X (1) --process-coef X (1)                  weights of the verifier's and the PRM's advantage
          --negative-weight X  weight of negative outcome advantages, 0 to 1 (1; 0 learns from better-than-average rollouts only)
          --eval-every N (25) --eval-count N (200) --checkpoint-every N (50) --seed S (1) --resume --max-minutes M
                               (--resume continues the RL run in --out with every setting it started with, its task and
                               start policy included; only --steps, --max-minutes, --eval-every, --checkpoint-every and
                               --device may be given anew; --policy may be repeated, and is not read)
          --no-training-kernels  the policy's gradient passes in libtorch's ops, not Ponder's C# autograd nodes (BENCHMARKS.md)
          --device cpu|cuda
        """;

    /// <summary>What a resumed RL run may be given anew: where it is, its start policy (not read: the saved one stays the
    /// reference), how long it runs, when it evaluates and saves, the device.</summary>
    static readonly HashSet<string> MayChangeOnResume = ["out", "policy", "steps", "max-minutes", "eval-every", "checkpoint-every", "device"];

    public static int Run(string[] args)
    {
        args = SavedRun.ResumedArgs("train rl", args, "rl", MayChangeOnResume, o => (Parse(o) with { Command = null }, o.String("prm")));
        var o = new Options("train rl", args);
        var options = Parse(o) with { Command = SavedRun.Command(o) };
        string? prmDir = o.String("prm");
        var device = TorchRuntime.Initialize(o.String("device", "cpu")!);
        o.Done();
        OutputFolder.RequireNoCheckpoint("train rl", options.Out, options.Resume);
        if (options.Resume) options = AsSaved(o, options);
        IProcessReward? prm = prmDir switch
        {
            null => null,
            "gold" => GoldProcessReward(options),
            _ => ProcessReward(prmDir, options.Policy, device).Scorer(),
        };
        using var stop = new StopSignal();
        OutputFolder.Run(options.Out, () => new RlTrainer(options, device, processReward: prm).Run(new ConsoleProgress(options.Algorithm.ToString().ToLowerInvariant(), plainEvery: 10), stop.Token));
        Console.WriteLine(stop.Stopped ? $"checkpoint: {options.Out} (stopped early; --resume continues it)" : $"checkpoint: {options.Out}");
        return 0;
    }

    /// <summary>
    /// A resumed RL run continues as it started: its rate, prompts, group size and seed are the saved ones (another
    /// value given is refused); its reference policy stays the one it started from, whatever --policy says.
    /// </summary>
    static RlOptions AsSaved(Options o, RlOptions options)
    {
        var saved = new SavedRun(o, "train rl", Resumption.Require(options.Out, "rl"));
        if (saved.State.Extra?.GetValueOrDefault("init") is { } init && Path.GetFullPath(init) != Path.GetFullPath(options.Policy))
            Console.WriteLine($"train rl: resuming keeps the run's start policy '{init}' as its reference; --policy '{options.Policy}' is not read");
        return options with
        {
            Lr = saved.Keep("lr", options.Lr, saved.Double("lr")),
            PromptsPerStep = saved.Keep("prompts", options.PromptsPerStep, saved.Int("prompts")),
            GroupSize = saved.Keep("group", options.GroupSize, saved.Int("group")),
            Seed = saved.Keep("seed", options.Seed, (int?)saved.State.Seed),
            Steps = o.String("steps") is null ? saved.Int("total_steps") ?? options.Steps : options.Steps,
        };
    }

    /// <summary><c>--prm gold</c>: the RL task's exact step checker as the process reward.</summary>
    static GoldStepReward GoldProcessReward(RlOptions options)
    {
        var task = TaskRegistry.Create(options.Task ?? Checkpoint.ReadState(options.Policy).Task);
        return task.HasStepChecker ? new GoldStepReward(task)
            : throw new UsageException($"train rl: --prm gold needs a task with an exact step checker; '{task.Name}' has none");
    }

    /// <summary>A PRM for process rewards: a reward-model checkpoint of kind prm whose vocabulary is the policy's.</summary>
    static LoadedRewardModel ProcessReward(string dir, string policyDir, TorchSharp.torch.Device device)
    {
        var rm = LoadedRewardModel.Load(dir, device);
        if (rm.Kind != RewardModelKind.Prm)
            throw new UsageException($"train rl: --prm '{dir}' is an ORM; process rewards need a PRM (ponder train prm)");
        rm.RequireSameVocabulary(Checkpoint.ReadTokenizer(policyDir), policyDir);
        return rm;
    }

    public const string CompareUsage = """
        ponder train compare --policy C --out DIR [--rollouts 8192] [--eval-count 200] [--seed 1] [--device cpu|cuda]
          every learner (reinforce, rloo, grpo, ppo, expert iteration, dpo) from C at the same rollout budget;
          writes DIR/comparison.md, comparison.json and learning-curve PNGs
        """;

    public static int Compare(string[] args)
    {
        var o = new Options("train compare", args);
        string policy = o.Required("policy"), outDir = o.Required("out");
        int rollouts = o.Int("rollouts", 8192, 128), evalCount = o.Int("eval-count", 200, 1), seed = o.Int("seed", 1);
        var device = TorchRuntime.Initialize(o.String("device", "cpu")!);
        o.Done();
        OutputFolder.RequireEmpty("train compare", outDir);
        Checkpoint.ReadConfig(policy);                                    // a missing or broken start fails before the header
        Directory.CreateDirectory(outDir);
        Console.WriteLine("| learner | rollouts | seconds | greedy | pass@1 | pass@16 | mean length (tokens) | KL to start (nats/seq) |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        LearnerComparison.Run(policy, outDir, rollouts, evalCount, device, new LineProgress(), seed);
        var runs = new[] { "reinforce", "rloo", "grpo", "ppo" }.ToDictionary(n => n, n => Path.Combine(outDir, n, "metrics.jsonl"));
        LearningCurves.Plot(runs, outDir, "rl");
        Console.WriteLine($"written: {Path.Combine(outDir, "comparison.md")}");
        return 0;
    }

    public static RlOptions Parse(Options o)
    {
        var algorithm = Enum<RlAlgorithm>(o, "algo", "grpo");
        var d = new RlOptions { Policy = "", Out = "" };
        var options = d with
        {
            Algorithm = algorithm,
            Policy = o.Required("policy"),
            Out = o.Required("out"),
            Task = o.String("task"),
            Steps = o.Int("steps", d.Steps, 1),
            PromptsPerStep = o.Int("prompts", d.PromptsPerStep, 1),
            GroupSize = o.Int("group", d.GroupSize, 1),
            EpochsPerBatch = o.Int("epochs", algorithm == RlAlgorithm.Ppo ? 2 : 1, 1, 64),
            Lr = o.Double("lr", d.Lr, 0, 1),
            Warmup = o.Int("warmup", d.Warmup, 0),
            Decay = Enum<LrDecay>(o, "lr-decay", "constant"),
            Temperature = o.Double("temperature", d.Temperature, 0.01, 10),
            ClipEps = o.Double("clip", d.ClipEps, 0, 10),
            ClipEpsHigh = o.OptionalDouble("clip-high", 0, 10),
            TopEntropy = o.Double("top-entropy", d.TopEntropy, 1e-6, 1),
            KlCoef = o.Double("kl", d.KlCoef, 0),
            Kl = Enum<KlEstimator>(o, "kl-estimator", "k3"),
            EntropyCoef = o.Double("entropy", d.EntropyCoef),
            Aggregation = Enum<LossAggregation>(o, "aggregation", "token"),
            ValueClip = o.Double("value-clip", 0, 0, 100),
            NormalizeStd = !o.Flag("no-std"),
            DynamicSampling = o.Flag("dynamic-sampling"),
            MaxDraws = o.Int("max-draws", d.MaxDraws, 1, 64),
            MaxSamples = o.Int("max-samples", 0, 0, 4096),
            SftCoef = o.Double("sft-coef", 0, 0, 100),
            SftSteps = o.Int("sft-steps", 0, 0, 64),
            SftBatch = o.Int("sft-batch", 64, 1, 4096),
            SftPool = Enum<SftPool>(o, "sft-pool", "guided"),
            SftLr = o.OptionalDouble("sft-lr", 0, 1),
            PoolProblems = o.Int("pool-problems", d.PoolProblems, 1, 1 << 20),
            PoolMaxSamples = o.Int("pool-max-samples", d.PoolMaxSamples, 1, 4096),
            ReplayStart = o.Flag("replay-start"),
            BranchAtEntropy = o.Flag("branch-at-entropy"),
            BranchThenGreedy = o.Flag("branch-then-greedy"),
            Shaping = new RewardShaping(o.Double("format-reward", 0), o.Double("length-penalty", 0), o.Double("partial-credit", 0),
                o.Flag("strict-steps")),
            EvalEvery = o.Int("eval-every", d.EvalEvery, 0),
            EvalCount = o.Int("eval-count", d.EvalCount, 1),
            CheckpointEvery = o.Int("checkpoint-every", d.CheckpointEvery, 0),
            Seed = o.Int("seed", d.Seed),
            Resume = o.Flag("resume"),
            MaxMinutes = o.Double("max-minutes", 0, 0),
            TrainingKernels = !o.Flag("no-training-kernels") && d.TrainingKernels,
            OutcomeCoef = o.Double("outcome-coef", d.OutcomeCoef, 0),
            ProcessCoef = o.Double("process-coef", d.ProcessCoef, 0),
            NegativeWeight = o.Double("negative-weight", d.NegativeWeight, 0, 1),
            AdamEps = o.Double("adam-eps", d.AdamEps, 1e-12, 1),
        };
        if (!options.DynamicSampling && o.String("max-draws") is not null)
            throw new UsageException("train rl: --max-draws limits --dynamic-sampling's draws; give both or neither");
        // Settings of a part the run does not use would be ignored without a word: refused instead.
        if (o.String("prm") is null && o.String("process-coef") is not null)
            throw new UsageException("train rl: --process-coef weighs the process reward of --prm; give both or neither");
        if (options.SftSteps == 0 && o.FirstGiven(["sft-batch", "sft-pool", "sft-lr"]) is { } sftOption)
            throw new UsageException($"train rl: --{sftOption} sets the supervised steps of --sft-steps; give --sft-steps too");
        if (options.SftPool != SftPool.Start && !options.ReplayStart && o.FirstGiven(["pool-problems", "pool-max-samples"]) is { } poolOption)
            throw new UsageException($"train rl: --{poolOption} sizes the start pool of --sft-pool start or --replay-start; give one of them too");
        return options;
    }

    /// <summary>An enum option by its lower-case name; anything else is a usage error listing the names.</summary>
    public static T Enum<T>(Options o, string name, string fallback) where T : struct, System.Enum
    {
        string value = o.String(name, fallback)!;
        foreach (var v in System.Enum.GetValues<T>())
            if (v.ToString().Equals(value, StringComparison.OrdinalIgnoreCase)) return v;
        throw new UsageException($"option '--{name}': unknown value '{value}' (known: {string.Join(", ", System.Enum.GetNames<T>().Select(n => n.ToLowerInvariant()))})");
    }
}
