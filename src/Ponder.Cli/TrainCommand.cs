using System.Globalization;
using Ponder.Learning;
using Ponder.Policy;

namespace Ponder.Cli;

/// <summary><c>ponder train sft</c>: policy initialization on gold solutions.</summary>
public static class TrainCommand
{
    public const string Usage = """
        ponder train revise --init POLICY --out DIR [--context N] [--task T] [--problems 3000] [--steps 600] [--batch 64] [--lr 0.001]
            [--seed S] [--no-training-kernels] [--no-pack] [--device cpu|cuda]
          a reviser for sequential revision: SFT on (problem + the policy's wrong attempt + 'revise:' → gold solution);
          --context N gives it N positions (at least the policy's): room for the attempt (models/arith: 256)
        ponder train sft --task T --out DIR [options]
          --init C             fine-tune checkpoint C instead of training from scratch
          defaults are the default policy's recipe (SftPresets.Default; models/arith: see models/README.md):
          --steps N            optimizer steps (2000)          --batch N        solutions per step (64)
          --lr X               peak learning rate (0.003)      --warmup N       warmup steps (100)
          --eval-every N       held-out greedy eval period (250) --eval-count N  held-out problems (200)
          --checkpoint-every N checkpoint period (500)         --seed S         seed (1)
          --resume             continue the run in --out exactly where it stopped, with the batch, rate, warmup and
                               seed it started with (other values are refused; a new --steps re-plans the schedule)
          without --resume, an --out that already holds a checkpoint is refused
          --max-minutes M      stop (with a checkpoint) after M minutes
          --no-training-kernels  norms, gating and attention in libtorch's ops, not Ponder's C# autograd nodes (BENCHMARKS.md)
          --no-pack            pad each step's examples to rows instead of packing them (one row on the C# nodes; rows
                               as wide as the longest on libtorch's attention): the same loss in fewer positions
          --hidden N --layers N --heads N --kv-heads N --intermediate N --context N
                               model shape from scratch (128, 4, 4, 4, 352, 160)
          --device cpu|cuda
        """;

    public static int Run(string[] args)
    {
        string trainer = args.Length == 0 ? "" : args[0];
        switch (trainer)
        {
            case "rl": return RlCommand.Run(args[1..]);
            case "expert-iteration": return ExpertIterationCommand.RunExpertIteration(args[1..]);
            case "dpo": return ExpertIterationCommand.RunDpo(args[1..]);
            case "compare": return RlCommand.Compare(args[1..]);
            case "orm" or "prm": return RewardCommands.Train(args);
            case "revise": return Revise(args[1..]);
            case "sft": break;
            default: throw new UsageException($"train: unknown trainer '{trainer}' (known: sft, rl, expert-iteration, dpo, compare, orm, prm, revise)");
        }
        SideBySide.RequireParentBuild("train sft");
        var o = new Options("train sft", args[1..]);
        var options = Parse(o);
        var device = TorchRuntime.Initialize(o.String("device", "cpu")!);
        o.Done();
        if (options.Resume) options = AsSaved(o, options);
        OutputFolder.RequireNoCheckpoint("train sft", options.Out, options.Resume);
        using var stop = new StopSignal();
        OutputFolder.Run(options.Out, () => new SftTrainer(options, device).Run(new ConsoleProgress("sft"), stop.Token));
        Console.WriteLine(stop.Stopped ? $"checkpoint: {options.Out} (stopped early; --resume continues it)" : $"checkpoint: {options.Out}");
        return 0;
    }

    static int Revise(string[] args)
    {
        var o = new Options("train revise", args);
        var d = new RevisionOptions { Init = "", Out = "" };
        var options = new RevisionOptions
        {
            Init = o.Required("init"),
            Out = o.Required("out"),
            Task = o.String("task"),
            Context = o.OptionalInt("context", 1, 1 << 20),
            Problems = o.Int("problems", d.Problems, 1, 1_000_000),
            Steps = o.Int("steps", d.Steps, 1),
            BatchSize = o.Int("batch", d.BatchSize, 1),
            Lr = o.Double("lr", d.Lr, 0, 1),
            Seed = o.Int("seed", d.Seed),
            TrainingKernels = !o.Flag("no-training-kernels") && d.TrainingKernels,
            Pack = !o.Flag("no-pack") && d.Pack,
        };
        var device = TorchRuntime.Initialize(o.String("device", "cpu")!);
        o.Done();
        OutputFolder.RequireNoCheckpoint("train revise", options.Out, resume: false);
        int pairs = OutputFolder.Run(options.Out, () => new RevisionTrainer(options, device).Run(new ConsoleProgress("revise")));
        Console.WriteLine($"reviser: {options.Out} ({pairs} revision pairs)");
        return 0;
    }

    /// <summary>
    /// A resumed run continues as it was started: its batch, peak rate, warmup and seed are the saved ones (an option
    /// given with another value is refused), and so is the shape (shape options and --init are refused). Only --steps
    /// may change, to extend or shorten the schedule, and that is said.
    /// </summary>
    static SftOptions AsSaved(Options o, SftOptions options)
    {
        if (o.String("init") is not null) throw new UsageException("train sft: --resume continues the checkpoint in --out; --init does not apply");
        if (o.FirstGiven(ShapeOptions) is { } shape)
            throw new UsageException($"train sft: --{shape} sets the shape of a model trained from scratch; a resumed run keeps its checkpoint's shape");
        var saved = new SavedRun(o, "train sft", Resumption.Require(options.Out, "sft"));
        var resumed = options with
        {
            BatchSize = saved.Keep("batch", options.BatchSize, saved.Int("batch_size")),
            Lr = saved.Keep("lr", options.Lr, saved.Double("lr")),
            Warmup = saved.Keep("warmup", options.Warmup, saved.Int("warmup")),
            Seed = saved.Keep("seed", options.Seed, (int?)saved.State.Seed),
            Steps = o.String("steps") is null ? saved.Int("total_steps") ?? options.Steps : options.Steps,
        };
        if (saved.Int("total_steps") is { } planned && planned != resumed.Steps)
            Console.WriteLine($"train sft: resuming at step {saved.State.Step} with --steps {resumed.Steps} (the run was planned for {planned}): the rate schedule follows the new length");
        return resumed;
    }

    /// <summary>The options that shape a model trained from scratch (meaningless with --init or --resume).</summary>
    static readonly string[] ShapeOptions = ["hidden", "layers", "heads", "kv-heads", "intermediate", "context"];

    /// <summary>
    /// The command-line options that give <paramref name="o"/> back through <see cref="Parse"/> (a run from scratch or
    /// from --init; not --resume or --max-minutes): how a stage runs an SFT run as a process of its own.
    /// </summary>
    public static string[] Args(SftOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        string I(int v) => v.ToString(CultureInfo.InvariantCulture);
        var args = new List<string> { "--task", o.Task, "--out", o.Out };
        if (o.Init is not null) args.AddRange(["--init", o.Init]);
        else
            args.AddRange(["--hidden", I(o.Model.HiddenSize), "--layers", I(o.Model.NumLayers), "--heads", I(o.Model.NumHeads),
                "--kv-heads", I(o.Model.NumKvHeads), "--intermediate", I(o.Model.IntermediateSize), "--context", I(o.Model.MaxPositions)]);
        args.AddRange(["--steps", I(o.Steps), "--batch", I(o.BatchSize), "--lr", o.Lr.ToString("R", CultureInfo.InvariantCulture),
            "--warmup", I(o.Warmup), "--eval-every", I(o.EvalEvery), "--eval-count", I(o.EvalCount), "--checkpoint-every", I(o.CheckpointEvery),
            "--seed", I(o.Seed)]);
        if (!o.TrainingKernels) args.Add("--no-training-kernels");
        if (!o.Pack) args.Add("--no-pack");
        return [.. args];
    }

    /// <summary>SFT settings from options; also used by the demo with its own defaults.</summary>
    public static SftOptions Parse(Options o, SftOptions? defaults = null)
    {
        var d = defaults ?? SftPresets.Default("", 1) with { MaxMinutes = 0 };
        var m = d.Model;
        var model = m with
        {
            HiddenSize = o.Int("hidden", m.HiddenSize, 8, 8192),
            NumLayers = o.Int("layers", m.NumLayers, 1, 128),
            NumHeads = o.Int("heads", m.NumHeads, 1, 128),
            NumKvHeads = o.Int("kv-heads", m.NumKvHeads, 1, 128),
            IntermediateSize = o.Int("intermediate", m.IntermediateSize, 8, 65536),
            MaxPositions = o.Int("context", m.MaxPositions, 16, 1 << 20),
        };
        if (o.String("init") is not null && o.FirstGiven(ShapeOptions) is { } shape)
            throw new UsageException($"train sft: --{shape} sets the shape of a model trained from scratch; with --init the checkpoint's shape is used");
        if (model.HiddenSize % model.NumHeads != 0) throw new UsageException($"train sft: --hidden {model.HiddenSize} is not divisible by --heads {model.NumHeads}");
        if (model.NumHeads % model.NumKvHeads != 0) throw new UsageException($"train sft: --heads {model.NumHeads} is not divisible by --kv-heads {model.NumKvHeads}");
        return d with
        {
            Task = o.String("task", defaults?.Task) ?? throw new UsageException("train sft: missing required option '--task'"),
            Out = o.String("out", defaults?.Out is { Length: > 0 } out_ ? out_ : null) ?? throw new UsageException("train sft: missing required option '--out'"),
            Init = o.String("init", d.Init),
            Model = model,
            Steps = o.Int("steps", d.Steps, 1),
            BatchSize = o.Int("batch", d.BatchSize, 1),
            Lr = o.Double("lr", d.Lr, 0, 1),
            Warmup = o.Int("warmup", d.Warmup, 0),
            EvalEvery = o.Int("eval-every", d.EvalEvery, 0),
            EvalCount = o.Int("eval-count", d.EvalCount, 1),
            CheckpointEvery = o.Int("checkpoint-every", d.CheckpointEvery, 0),
            Seed = o.Int("seed", d.Seed),
            Resume = o.Flag("resume"),
            MaxMinutes = o.Double("max-minutes", d.MaxMinutes, 0),
            TrainingKernels = !o.Flag("no-training-kernels") && d.TrainingKernels,
            Pack = !o.Flag("no-pack") && d.Pack,
        };
    }
}
