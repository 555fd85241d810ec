using System.Globalization;
using Ponder.Policy;
using Ponder.Scaling;
using Ponder.Tasks;

namespace Ponder.Cli;

/// <summary><c>ponder scale</c>: accuracy against test-time compute for every strategy, with fits, efficiency and compute-optimal selection.</summary>
public static class ScaleCommand
{
    public const string Usage = """
        ponder scale --checkpoint C [--task T] [--prm none|gold|DIR] [--reviser R] [--out DIR] [--budgets 1,2,4,8,16] [--seeds 3] [--problems 40]
                     [--validation-problems 40] [--validation-seeds 2] [--arms a,b,...] [--seed S] [--device cpu|cuda]
          arms: greedy, bon-majority, bon-verifier (countdown), bon-prm-vote, bon-prm-max, beam, dvts, mcts, revision (those the rewards and --reviser allow)
          --stage quick|full: the demo's own grid (ScalingStage.Run) instead of the options above
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
        var budgets = ParseBudgets(o.String("budgets", "1,2,4,8,16")!);
        int seeds = o.Int("seeds", 3, 1, 100);
        int problems = o.Int("problems", 40, 1, 100_000);
        int validationProblems = o.Int("validation-problems", 40, 1, 100_000);
        int validationSeeds = o.Int("validation-seeds", 2, 1, 100);
        string? armList = o.String("arms");
        int seed = o.Int("seed", 0);
        string? stage = o.String("stage");
        var device = TorchRuntime.Initialize(o.String("device", "cpu")!);
        o.Done();

        var policy = LoadedPolicy.Load(dir, device);
        var task = TaskRegistry.Create(taskSpec ?? policy.State.Task);
        var prm = SolveCommand.Prm(prmName, task, policy);
        var reviser = reviserDir is null ? null : LoadedPolicy.Load(reviserDir, device);
        if (stage is not null)
        {
            if (stage is not ("quick" or "full")) throw new UsageException($"scale: option '--stage' is quick or full, got '{stage}'");
            var result = ScalingStage.Run(policy, task, prm, null, outDir, stage == "quick", seed, new LineProgress("[scale] "), reviser: reviser);
            File.WriteAllText(Path.Combine(outDir, "report.md"), "# Ponder scaling report\n\n" + result.Markdown);
            Console.WriteLine(result.Summary.ToJsonString(new() { WriteIndented = true }));
            return 0;
        }
        var available = SweepArm.Defaults(prm is not null, orm: false, verifier: task is CountdownTask, reviser: reviser is not null);
        var arms = armList is null ? available : armList.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(name => available.FirstOrDefault(a => a.Name == name)
                ?? throw new UsageException($"scale: arm '{name}' is not available (available with these rewards: {string.Join(", ", available.Select(a => a.Name))})")).ToList();
        var test = new SweepOptions { Budgets = budgets, Seeds = seeds, Problems = problems, ProblemSeed = seed };
        var validation = test with { Split = Split.Train, Seeds = validationSeeds, Problems = validationProblems };
        string command = "./ponder scale " + string.Join(" ", args);
        var run = ScalingStage.Measure(policy, task, prm, prmName == "gold" ? "gold step checker (ORACLE, not a learned PRM)" : prmName, null, "none",
            arms, test, validation, null, command, new LineProgress("[scale] "), reviser);
        var (markdown, _) = ScalingReport.Write(run, outDir);
        File.WriteAllText(Path.Combine(outDir, "report.md"), "# Ponder scaling report\n\n" + markdown);
        Console.WriteLine(markdown);
        Console.WriteLine($"wrote {Path.Combine(outDir, "report.md")}, scaling.csv, scaling.json and PNGs in {run.Seconds:F0}s");
        return 0;
    }

    static IReadOnlyList<int> ParseBudgets(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var budgets = parts.Select(p => int.TryParse(p, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n >= 1 && n <= 4096 ? n
            : throw new UsageException($"scale: option '--budgets' expects N values in 1..4096 separated by commas, got '{p}'")).Distinct().Order().ToList();
        return budgets.Count > 0 ? budgets : throw new UsageException("scale: option '--budgets' is empty");
    }
}
