using Ponder.Learning;
using Ponder.Policy;
using Ponder.Rewards;

namespace Ponder.Cli;

/// <summary><c>ponder train orm|prm</c>: reward models on labelled samples of a policy.</summary>
public static class RewardCommands
{
    public const string Usage = """
        ponder train orm|prm --policy C --out DIR [options]
          --task T             task whose train problems are labelled (default: the policy's)
          --labels mc|gold     Monte-Carlo labels (default) or the task's gold step checker (a baseline)
          --target hard|soft   MC label trained on: any completion correct (default) or the fraction correct
          --label-cache F      label file, reused when it matches and written when absent (default DIR/labels-mc.jsonl);
                               an ORM reuses a PRM's file: pass the same F
          --problems N         train problems to label (256)   --samples S   solutions sampled per problem (4)
          --k K                completions per step prefix (prm: 8; orm: 0, outcomes only) --temperature X  sampling temperature (1)
          --steps N            optimizer steps (400)           --batch N     labelled solutions per step (32)
          --lr X               peak learning rate (0.0001)     --warmup N    warmup steps (20)
          --eval-every N       held-out evaluation period (100) --checkpoint-every N  checkpoint period (0: at the end)
          --seed S             seed of labels and data order (1) --resume    continue the checkpoint in --out
          --max-minutes M      stop (with a checkpoint) after M minutes
          --no-likelihood      score from the hidden state only (no log-probability features; a baseline)
          --no-training-kernels  the trunk's norms, gating and attention in libtorch's ops, not Ponder's C# autograd nodes
          --device cpu|cuda
        """;

    /// <summary>What a resumed run may be given anew: where it is, how long it runs, when it evaluates and saves, the device.</summary>
    static readonly HashSet<string> MayChangeOnResume = ["out", "steps", "max-minutes", "eval-every", "checkpoint-every", "device"];

    public static int Train(string[] args)
    {
        var kind = args[0] == "orm" ? RewardModelKind.Orm : RewardModelKind.Prm;
        string verb = $"train {args[0]}";
        var given = SavedRun.ResumedArgs(verb, args[1..], args[0], MayChangeOnResume, o => Parse(o, kind, verb));
        var o = new Options(verb, given);
        var options = Parse(o, kind, verb) with { Command = SavedRun.Command(o) };
        string policy = options.Policy;
        var device = TorchRuntime.Initialize(o.String("device", "cpu")!);
        o.Done();
        if (kind == RewardModelKind.Orm && options.Labels == LabelSource.Gold)
            throw new UsageException($"{verb}: --labels gold gives step labels; an ORM learns outcomes (use --labels mc, whose outcomes come from the verifier)");
        options = options with { Task = options.Task.Length > 0 ? options.Task : Checkpoint.ReadState(policy).Task };
        OutputFolder.RequireNoCheckpoint(verb, options.Out, options.Resume);
        if (options.Resume) options = AsSaved(o, verb, options);

        using var stop = new StopSignal();
        var result = OutputFolder.Run(options.Out, () => new RewardTrainer(options, device).Run(new ConsoleProgress(args[0]), stop.Token));
        var c = result.Labels.Cost;
        Console.WriteLine($"labels: {result.Labels.Count} solutions ({(result.LabelsReused ? "reused" : "made")}: {c.SampledTokens + c.RolloutTokens} tokens decoded, {c.Rollouts} completions, {c.Seconds:F1}s)");
        Console.WriteLine(result.ValidationSolutions == 0
            ? $"held-out: none (no labelled solution fell in the held-out split: label more --problems); {result.Seconds:F0}s in all"
            : $"held-out: loss {result.ValidationLoss:F4}, AUC {result.ValidationAuc:F3} on {result.ValidationSolutions} solutions; {result.Seconds:F0}s in all");
        Console.WriteLine($"checkpoint: {options.Out}");
        return 0;
    }

    /// <summary>
    /// A resumed run whose checkpoint holds no command line (saved before reward runs kept one) still continues with its
    /// saved batch, rate, target and labels: another value given is refused, one not given takes the saved value.
    /// </summary>
    static RewardTrainerOptions AsSaved(Options o, string verb, RewardTrainerOptions options)
    {
        var saved = new SavedRun(o, verb, Resumption.Require(options.Out, options.Kind == RewardModelKind.Orm ? "orm" : "prm", needsOptimizerState: false));
        int seed = saved.Keep("seed", options.Seed, (int?)saved.State.Seed);
        return options with
        {
            BatchSize = saved.Keep("batch", options.BatchSize, saved.Int("batch_size")),
            Lr = saved.Keep("lr", options.Lr, saved.Double("lr")),
            Target = saved.KeepEnum("target", options.Target, "target"),
            Labels = saved.KeepEnum("labels", options.Labels, "labels"),
            Seed = seed, Labelling = options.Labelling with { Seed = seed },
            Steps = o.String("steps") is null ? saved.Int("total_steps") ?? options.Steps : options.Steps,
        };
    }

    static RewardTrainerOptions Parse(Options o, RewardModelKind kind, string verb)
    {
        string policy = o.Required("policy");
        string? task = o.String("task");
        int seed = o.Int("seed", 1);
        return new RewardTrainerOptions
        {
            Kind = kind, Policy = policy, Out = o.Required("out"), Task = task ?? "",
            Labels = Enum<LabelSource>(o, verb, "labels", LabelSource.Mc),
            Target = Enum<LabelTarget>(o, verb, "target", LabelTarget.Hard),
            LabelCache = o.String("label-cache"),
            Labelling = new LabelOptions
            {
                Problems = o.Int("problems", 256, 1), Samples = o.Int("samples", 4, 1, 1024), K = o.Int("k", kind == RewardModelKind.Orm ? 0 : 8, kind == RewardModelKind.Orm ? 0 : 1, 1024),
                Temperature = o.Double("temperature", 1.0, 0, 10), Seed = seed,
            },
            Steps = o.Int("steps", 400, 1), BatchSize = o.Int("batch", 32, 1), Lr = o.Double("lr", 1e-4, 0, 1), Warmup = o.Int("warmup", 20, 0),
            EvalEvery = o.Int("eval-every", 100, 0), CheckpointEvery = o.Int("checkpoint-every", 0, 0), Seed = seed,
            Resume = o.Flag("resume"), MaxMinutes = o.Double("max-minutes", 0, 0), LikelihoodFeatures = !o.Flag("no-likelihood"),
            TrainingKernels = !o.Flag("no-training-kernels"),
        };
    }

    /// <summary>An enum option spelled in lower case, e.g. <c>--labels gold</c>.</summary>
    public static T Enum<T>(Options o, string verb, string name, T fallback) where T : struct, System.Enum
    {
        string? value = o.String(name);
        if (value is null) return fallback;
        var names = System.Enum.GetNames<T>().Select(n => n.ToLowerInvariant()).ToList();
        return System.Enum.TryParse<T>(value, ignoreCase: true, out var parsed) && names.Contains(value)
            ? parsed
            : throw new UsageException($"{verb}: option '--{name}' must be one of {string.Join(", ", names)}, got '{value}'");
    }
}
