using Ponder.Learning;
using Ponder.Policy;

namespace Ponder.Cli;

/// <summary><c>ponder train expert-iteration</c> and <c>ponder train dpo</c>: learning from verified samples.</summary>
public static class ExpertIterationCommand
{
    public const string Usage = """
        ponder train expert-iteration --policy C --out DIR [--task T] [--rounds 3] [--problems 2048] [--samples 4]
            [--max-samples N] [--keep 1] [--epochs 6.2 | --steps-per-round N [--steps-growth 1]] [--restart base|continue] [--no-accumulate]
            [--batch 64] [--lr 5e-5] [--warmup 20] [--lr-decay constant|linear|cosine] [--min-lr-fraction 0.1]
            [--temperature 1] [--expert sample|flip|mcts|gold [--flip-positions 6] [--flip-alternatives 2] [--expansions 4]]
            [--strict-steps]
            [--eval-count 200] [--seed 1] [--resume] [--no-training-kernels] [--no-pack] [--device cpu|cuda]
          --no-training-kernels: fine-tune in libtorch's ops, not Ponder's C# autograd nodes; --no-pack: pad each step's
            examples to rows instead of packing them (the same loss; BENCHMARKS.md)
          --expert: who proposes solutions: samples (--samples per problem), or the greedy answer and, where it is wrong,
            the policy's next --flip-alternatives tokens at its --flip-positions least certain tokens, each continued
            greedily; or MCTS per problem (--samples simulations, --expansions next steps where a node expands, each leaf
            valued by a rollout the verifier scores), every finished solution in its tree an attempt (search, then
            distill); or the task's gold solutions (an oracle, the upper bound)
          --max-samples: draw again for the problems with fewer than --keep correct attempts, doubling the draws,
            until they have them or N attempts (hard problems get the samples easy ones do not need)
          --strict-steps: keep a solution only if every step is right too (tasks with a step checker)
          --resume continues the run in --out after its last round, with every setting it started with (only --rounds
            and --device may be given anew)
        ponder train dpo --policy C --out DIR [--task T] [--steps 100] [--problems 32] [--samples 8] [--beta 0.1]
            [--lr 3e-5] [--loss sigmoid|ipo|hinge] [--dpop-lambda 0] [--rpo-alpha 0] [--temperature 1] [--pairs outcome|step|file] [--simulations 16] [--expansions 4] [--min-gap 0.5] [--pairs-file F]
            [--eval-every 25] [--eval-count 200] [--checkpoint-every 25] [--seed 1] [--resume] [--no-training-kernels] [--device cpu|cuda]
          --pairs: outcome pairs a correct and an incorrect sample of a problem (--samples each); step pairs two
            next steps of one partial solution in an MCTS tree the policy grows per problem (--simulations rollouts
            the verifier scores, --expansions steps where a node expands), the step whose rollouts ended correct more
            often against the one that did less, when their rates differ by --min-gap or more; file pairs (offline, as TRL
            trains): --pairs-file F, one JSON object a line with prompt, chosen and rejected, --problems of them a step;
            outcome and step runs write the pairs they drew to DIR/pairs.jsonl in that shape
          --loss: DPO's −log σ(β·m) on each pair's margin m, IPO's (m − 1/2β)² on mean token log-probabilities, or the
            hinge max(0, 1 − β·m) (TRL's loss_type sigmoid, ipo, hinge)
          --dpop-lambda: lowers each margin by that times how far the chosen log-likelihood fell below the reference's
            (DPO-Positive), so pairs a few tokens apart cannot lower the loss by pushing both sides down
          --rpo-alpha: adds that times the chosen completions' mean token NLL to the loss (RPO, TRL's rpo_alpha)
          --resume continues the run in --out from its last checkpoint (Ctrl+C saves one), with its settings
        """;

    /// <summary>What a resumed expert-iteration run may be given anew: where it is, how many rounds it runs, the device.</summary>
    static readonly HashSet<string> MayChangeOnResume = ["out", "rounds", "device"];

    public static int RunExpertIteration(string[] args)
    {
        args = SavedRun.ResumedArgs("train expert-iteration", args, "expert-iteration", MayChangeOnResume, o => ParseExpertIteration(o) with { Command = null });
        var o = new Options("train expert-iteration", args);
        var options = ParseExpertIteration(o) with { Command = SavedRun.Command(o) };
        var device = TorchRuntime.Initialize(o.String("device", "cpu")!);
        o.Done();
        OutputFolder.RequireNoCheckpoint("train expert-iteration", options.Out, options.Resume);
        using var stop = new StopSignal("round");
        bool early = OutputFolder.Run(options.Out, () => new ExpertIteration(options, device).Run(new ConsoleProgress("expert-iteration"), stop.Token));
        Console.WriteLine(early ? $"checkpoint: {options.Out} (stopped after round {Checkpoint.ReadState(options.Out).Step}; --resume continues it)" : $"checkpoint: {options.Out}");
        return 0;
    }

    /// <summary>Expert-iteration settings from options, with their usage errors (options that need others).</summary>
    static ExpertIterationOptions ParseExpertIteration(Options o)
    {
        var d = new ExpertIterationOptions { Policy = "", Out = "" };
        var options = d with
        {
            Policy = o.Required("policy"), Out = o.Required("out"), Task = o.String("task"),
            Rounds = o.Int("rounds", d.Rounds, 1), ProblemsPerRound = o.Int("problems", d.ProblemsPerRound, 1),
            SamplesPerProblem = o.Int("samples", d.SamplesPerProblem, 1),
            MaxSamples = o.OptionalInt("max-samples", 2), KeepPerProblem = o.Int("keep", d.KeepPerProblem, 1),
            StepsPerRound = o.Int("steps-per-round", d.StepsPerRound, 1), StepsGrowth = o.Double("steps-growth", d.StepsGrowth, 0.1, 10),
            Epochs = Epochs(o, d.Epochs),
            Restart = RlCommand.Enum<ExpertRestart>(o, "restart", d.Restart.ToString().ToLowerInvariant()),
            Accumulate = !o.Flag("no-accumulate"), BatchSize = o.Int("batch", d.BatchSize, 1),
            Lr = o.Double("lr", d.Lr, 0, 1), Warmup = o.Int("warmup", d.Warmup, 0),
            Decay = RlCommand.Enum<LrDecay>(o, "lr-decay", "constant"), MinLrFraction = o.Double("min-lr-fraction", d.MinLrFraction, 0, 1),
            Temperature = o.Double("temperature", d.Temperature, 0.01, 10),
            Expert = RlCommand.Enum<ExpertKind>(o, "expert", "sample"), FlipPositions = o.Int("flip-positions", d.FlipPositions, 1),
            FlipAlternatives = o.Int("flip-alternatives", d.FlipAlternatives, 1), Expansions = o.Int("expansions", d.Expansions, 2),
            StrictSteps = o.Flag("strict-steps"),
            EvalCount = o.Int("eval-count", d.EvalCount, 1), Seed = o.Int("seed", d.Seed), Resume = o.Flag("resume"),
            TrainingKernels = !o.Flag("no-training-kernels") && d.TrainingKernels, Pack = !o.Flag("no-pack") && d.Pack,
        };
        if (options.Expert != ExpertKind.Flip && (o.String("flip-positions") ?? o.String("flip-alternatives")) is not null)
            throw new UsageException("train expert-iteration: --flip-positions and --flip-alternatives need --expert flip");
        if (options.Expert != ExpertKind.Mcts && o.String("expansions") is not null)
            throw new UsageException("train expert-iteration: --expansions needs --expert mcts");
        if (options.Expert == ExpertKind.Mcts && options.SamplesPerProblem < 2)
            throw new UsageException($"train expert-iteration: --expert mcts needs at least 2 simulations a problem (--samples; the first expands the root), got {options.SamplesPerProblem}");
        if (options.MaxSamples is { } most && (options.Expert != ExpertKind.Sample || most <= options.SamplesPerProblem))
            throw new UsageException($"train expert-iteration: --max-samples {most} needs --expert sample and more than --samples ({options.SamplesPerProblem})");
        if (options.KeepPerProblem > (options.MaxSamples ?? options.SamplesPerProblem))
            throw new UsageException($"train expert-iteration: --keep {options.KeepPerProblem} exceeds the attempts a problem gets ({options.MaxSamples ?? options.SamplesPerProblem}: --samples, or --max-samples when given)");
        if (options.Decay == LrDecay.Constant && o.String("min-lr-fraction") is not null)
            throw new UsageException("train expert-iteration: --min-lr-fraction needs --lr-decay linear or cosine");
        if (options.Epochs is not null && o.String("steps-growth") is not null)
            throw new UsageException("train expert-iteration: --steps-growth grows --steps-per-round from round to round; it needs --steps-per-round");
        return options;
    }

    /// <summary>Epochs per round (the default), or null when a fixed <c>--steps-per-round</c> is asked for instead.</summary>
    static double? Epochs(Options o, double? fallback)
    {
        bool steps = o.String("steps-per-round") is not null, epochs = o.String("epochs") is not null;
        if (steps && epochs) throw new UsageException("train expert-iteration: give --epochs or --steps-per-round, not both");
        return epochs ? o.Double("epochs", 1, 0.01, 1000) : steps ? null : fallback;
    }

    public static int RunDpo(string[] args)
    {
        var o = new Options("train dpo", args);
        var d = new DpoOptions { Policy = "", Out = "" };
        var options = d with
        {
            Policy = o.Required("policy"), Out = o.Required("out"), Task = o.String("task"),
            Steps = o.Int("steps", d.Steps, 1), ProblemsPerStep = o.Int("problems", d.ProblemsPerStep, 1),
            SamplesPerProblem = o.Int("samples", d.SamplesPerProblem, 2), Beta = o.Double("beta", d.Beta, 0),
            Lr = o.Double("lr", d.Lr, 0, 1), Temperature = o.Double("temperature", d.Temperature, 0.01, 10),
            EvalEvery = o.Int("eval-every", d.EvalEvery, 0), EvalCount = o.Int("eval-count", d.EvalCount, 1), Seed = o.Int("seed", d.Seed),
            TrainingKernels = !o.Flag("no-training-kernels") && d.TrainingKernels,
            PairsFile = o.String("pairs-file"),
            Pairs = RlCommand.Enum<DpoPairs>(o, "pairs", o.String("pairs-file") is null ? "outcome" : "file"), Simulations = o.Int("simulations", d.Simulations, 2),
            Expansions = o.Int("expansions", d.Expansions, 2), MinGap = o.Double("min-gap", d.MinGap, 0.01, 1),
            CheckpointEvery = o.Int("checkpoint-every", d.CheckpointEvery, 0), Resume = o.Flag("resume"),
            RpoAlpha = o.Double("rpo-alpha", d.RpoAlpha, 0, 100), Loss = RlCommand.Enum<DpoLoss>(o, "loss", "sigmoid"),
            DpopLambda = o.Double("dpop-lambda", d.DpopLambda, 0, 1000),
        };
        if (options.DpopLambda > 0 && options.Loss == DpoLoss.Ipo)
            throw new UsageException("train dpo: --dpop-lambda lowers the margin of --loss sigmoid or hinge, not ipo");
        if (options.Beta <= 0) throw new UsageException($"train dpo: --beta must be positive (it scales the log-ratios; at 0 the loss is constant), got {options.Beta}");
        var device = TorchRuntime.Initialize(o.String("device", "cpu")!);
        o.Done();
        OutputFolder.RequireNoCheckpoint("train dpo", options.Out, options.Resume);
        if (options.Resume) options = AsSaved(o, options);
        // Options that the pairs asked for would not read (after a resumed run's own pairs are known).
        string[] treeOptions = ["simulations", "expansions", "min-gap"];
        if (options.Pairs != DpoPairs.Step && treeOptions.FirstOrDefault(n => o.String(n) is not null) is { } tree)
            throw new UsageException($"train dpo: --{tree} sets step pairs' trees; it needs --pairs step");
        if (options.Pairs == DpoPairs.File && o.String("temperature") is not null)
            throw new UsageException("train dpo: --temperature sets how pairs are sampled; file pairs are not sampled");
        if (options.Pairs != DpoPairs.Outcome && o.String("samples") is not null)
            throw new UsageException($"train dpo: --samples sets outcome pairs' samples a problem; {Name(options.Pairs)} pairs take none");
        if ((options.Pairs == DpoPairs.File) != (options.PairsFile is not null))
            throw new UsageException(options.PairsFile is null ? "train dpo: --pairs file needs --pairs-file F" : $"train dpo: --pairs-file is read only with --pairs file, not {Name(options.Pairs)}");
        using var stop = new StopSignal();
        bool early = OutputFolder.Run(options.Out, () => new DpoTrainer(options, device).Run(new ConsoleProgress("dpo", plainEvery: 10), stop.Token));
        Console.WriteLine(early ? $"checkpoint: {options.Out} (stopped early; --resume continues it)" : $"checkpoint: {options.Out}");
        return 0;
    }

    /// <summary>
    /// A resumed DPO run continues as it started: its task, pairs (and their file, samples, tree settings and
    /// temperature), loss, rate, β, RPO weight, problems and seed are the saved ones (another value given is refused); its reference policy
    /// stays the one it started from, whatever --policy says.
    /// </summary>
    static DpoOptions AsSaved(Options o, DpoOptions options)
    {
        var saved = new SavedRun(o, "train dpo", Resumption.Require(options.Out, "dpo"));
        if (saved.State.Extra?.GetValueOrDefault("init") is { } init && Path.GetFullPath(init) != Path.GetFullPath(options.Policy))
            Console.WriteLine($"train dpo: resuming keeps the run's start policy '{init}' as its reference; --policy '{options.Policy}' is not read");
        return options with
        {
            Task = saved.KeepText("task", options.Task, saved.State.Task, task => Ponder.Tasks.TaskRegistry.Create(task).Name),
            PairsFile = saved.KeepText("pairs-file", options.PairsFile, saved.State.Extra?.GetValueOrDefault("pairs_file"), Path.GetFullPath),
            Pairs = saved.KeepEnum("pairs", options.Pairs, "pairs"), Loss = saved.KeepEnum("loss", options.Loss, "loss"),
            SamplesPerProblem = saved.Keep("samples", options.SamplesPerProblem, saved.Int("samples")),
            Simulations = saved.Keep("simulations", options.Simulations, saved.Int("simulations")),
            Expansions = saved.Keep("expansions", options.Expansions, saved.Int("expansions")),
            MinGap = saved.Keep("min-gap", options.MinGap, saved.Double("min_gap")),
            Temperature = saved.Keep("temperature", options.Temperature, saved.Double("temperature")),
            Lr = saved.Keep("lr", options.Lr, saved.Double("lr")),
            Beta = saved.Keep("beta", options.Beta, saved.Double("beta")),
            RpoAlpha = saved.Keep("rpo-alpha", options.RpoAlpha, saved.Double("rpo_alpha")),
            DpopLambda = saved.Keep("dpop-lambda", options.DpopLambda, saved.Double("dpop_lambda")),
            ProblemsPerStep = saved.Keep("problems", options.ProblemsPerStep, saved.Int("problems")),
            Seed = saved.Keep("seed", options.Seed, (int?)saved.State.Seed),
            Steps = o.String("steps") is null ? saved.Int("total_steps") ?? options.Steps : options.Steps,
        };
    }

    private static string Name(DpoPairs pairs) => pairs.ToString().ToLowerInvariant();
}
