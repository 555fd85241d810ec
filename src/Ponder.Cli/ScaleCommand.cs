using System.Globalization;
using Ponder.Policy;
using Ponder.Scaling;
using Ponder.Search;
using Ponder.Tasks;

namespace Ponder.Cli;

/// <summary><c>ponder scale</c>: accuracy against test-time compute for every strategy, with fits, efficiency and compute-optimal selection.</summary>
public static class ScaleCommand
{
    public const string Usage = """
        ponder scale --checkpoint C [--task T] [--prm none|gold|DIR] [--reviser R] [--out DIR] [--budgets 1,2,4,8,16] [--seeds 3] [--problems 40]
                     [--validation-problems 40] [--validation-seeds 2] [--arms a,b,...] [--seed S] [--device cpu|cuda]
                     [--temperature 1.0] [--compute-optimal bins=B[,samples=K]] [--prm-cache on|off]
          arms: greedy, bon-majority, bon-verifier (countdown), bon-prm-vote, bon-prm-max, beam, dvts, mcts, revision (those the rewards and --reviser allow)
          --temperature X: sampling temperature of every arm but greedy (best-of-N and revision samples, tree steps)
          --compute-optimal bins=B: also compute-optimal per difficulty bin: B bins of an answer-free difficulty estimate
              from K samples per problem (default 4; mean PRM score, or majority agreement without a PRM), charged to its compute
          --prm-cache on|off (on): the PRM runs each token of a search's scored prefixes once (KV cache; gold is charged so)
          --stage quick|full: the demo's own grid (ScalingStage.Run) instead of the options above; prints its summary
              JSON (also written to DIR/summary.json), progress on standard error
          writes DIR/scaling.csv, scaling.json, report.md, scaling_accuracy.png, scaling_error.png (DIR: runs/scale)
        """;

    public static int Run(string[] args)
    {
        var o = new Options("scale", args);
        string dir = o.Required("checkpoint");
        string? taskSpec = o.String("task");
        string prmName = o.String("prm", "none")!;
        string? reviserDir = o.String("reviser");
        string outDir = o.String("out", "runs/scale")!;
        var budgets = ParseBudgets("scale", o.String("budgets", "1,2,4,8,16")!);
        int seeds = o.Int("seeds", 3, 1, 100);
        int problems = o.Int("problems", 40, 1, 100_000);
        int validationProblems = o.Int("validation-problems", 40, 1, 100_000);
        int validationSeeds = o.Int("validation-seeds", 2, 1, 100);
        string? armList = o.String("arms");
        var armNames = armList?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (armNames is { Length: 0 }) throw new UsageException("scale: option '--arms' names no arm");
        if (armNames?.GroupBy(a => a).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw new UsageException($"scale: option '--arms' names '{twice.Key}' twice");
        int seed = o.Int("seed", 0);
        string? stage = o.String("stage");
        double temperature = o.Double("temperature", 1.0, 0, 10);
        var (bins, estimator) = ParseBins(o.String("compute-optimal"), temperature);
        bool prmCache = SolveCommand.PrmCache(o, "scale");
        var device = TorchRuntime.Initialize(o.String("device", "cpu")!);
        o.Done();
        OutputFolder.RequireWritableFolder("scale", outDir);

        var policy = LoadedPolicy.Load(dir, device);
        var task = TaskRegistry.Create(taskSpec ?? policy.State.Task);
        var prm = SolveCommand.Prm(prmName, task, policy, prmCache);
        string prmLabel = prmName == "gold" ? ScalingStage.GoldPrm : prmName;   // what the report says scored the steps
        var reviser = reviserDir is null ? null : LoadedPolicy.LoadReviser(reviserDir, device);
        if (stage is not null)
        {
            if (stage is not ("quick" or "full")) throw new UsageException($"scale: option '--stage' is quick or full, got '{stage}'");
            if (o.FirstGiven(["compute-optimal", "temperature", "budgets", "seeds", "problems", "validation-problems", "validation-seeds", "arms"]) is { } grid)
                throw new UsageException($"scale: option '--{grid}' sets the grid sweep; '--stage' runs its own fixed grid");
            // The summary JSON is the command's output: progress goes to standard error, so `> summary.json` holds JSON only.
            var result = ScalingStage.Run(policy, task, prm, null, outDir, stage == "quick", seed, new LineProgress("[scale] ", Console.Error), prmName: prmLabel, reviser: reviser);
            AtomicFile.Write(Path.Combine(outDir, "report.md"), "# Ponder scaling report\n\n" + result.Markdown);
            string summary = result.Summary.ToJsonString(JsonText.Indented);
            AtomicFile.Write(Path.Combine(outDir, "summary.json"), summary);
            Console.WriteLine(summary);
            return 0;
        }
        var available = SweepArm.Defaults(prm is not null, orm: false, verifier: task is CountdownTask, reviser: reviser is not null, temperature);
        var arms = armNames is null ? available : armNames
            .Select(name => available.FirstOrDefault(a => a.Name == name)
                ?? throw new UsageException($"scale: arm '{name}' is not available (available with these rewards: {string.Join(", ", available.Select(a => a.Name))})")).ToList();
        var test = new SweepOptions { Budgets = budgets, Seeds = seeds, Problems = problems, ProblemSeed = seed };
        var validation = test with { Split = Split.Train, Seeds = validationSeeds, Problems = validationProblems };
        string command = "./ponder scale " + string.Join(" ", args.Select(ShellWord));
        var run = ScalingStage.Measure(policy, task, prm, prmLabel, null, "none",
            arms, test, validation, null, command, new LineProgress("[scale] "), reviser, bins, estimator);
        var (markdown, _) = ScalingReport.Write(run, outDir);
        AtomicFile.Write(Path.Combine(outDir, "report.md"), "# Ponder scaling report\n\n" + markdown);
        Console.WriteLine(markdown);
        Console.WriteLine($"wrote {Path.Combine(outDir, "report.md")}, scaling.csv, scaling.json and PNGs in {run.Seconds:F0}s");
        return 0;
    }

    /// <summary><c>bins=B[,samples=K]</c> → B and the estimator (K samples at the sweep's temperature); (0, null) when absent.</summary>
    static (int Bins, DifficultyEstimator? Estimator) ParseBins(string? text, double temperature)
    {
        if (text is null) return (0, null);
        int bins = 0, samples = new DifficultyEstimator().Samples;
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = part.Split('=', 2, StringSplitOptions.TrimEntries);
            bool ok = kv.Length == 2 && int.TryParse(kv[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v >= 1 && v <= 64;
            if (ok && kv[0] == "bins") bins = int.Parse(kv[1], CultureInfo.InvariantCulture);
            else if (ok && kv[0] == "samples") samples = int.Parse(kv[1], CultureInfo.InvariantCulture);
            else throw new UsageException($"scale: option '--compute-optimal' expects bins=B[,samples=K] with B and K in 1..64, got '{part}'");
        }
        if (bins == 0) throw new UsageException($"scale: option '--compute-optimal' needs bins=B (e.g. bins=4), got '{text}'");
        return (bins, new DifficultyEstimator { Samples = samples, Temperature = temperature });
    }

    /// <summary>An argument as a POSIX shell reads it back: bare when it holds only safe characters, else single-quoted.</summary>
    static string ShellWord(string arg) =>
        arg.Length > 0 && arg.All(c => char.IsAsciiLetterOrDigit(c) || "-_./:,=@+%".Contains(c)) ? arg : "'" + arg.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>A comma list of whole budgets in <paramref name="min"/>..<paramref name="max"/>, each once, in increasing order (an empty item is refused).</summary>
    public static IReadOnlyList<int> ParseBudgets(string verb, string text, int min = 1, int max = 4096)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var budgets = parts.Select(p => int.TryParse(p, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n >= min && n <= max ? n
            : throw new UsageException($"{verb}: option '--budgets' expects values in {min}..{max} separated by commas, got '{p}'")).Distinct().Order().ToList();
        return budgets.Count > 0 ? budgets : throw new UsageException($"{verb}: option '--budgets' is empty");
    }
}
