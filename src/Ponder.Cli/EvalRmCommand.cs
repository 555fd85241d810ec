using Ponder.Policy;
using Ponder.Rewards;
using Ponder.Tasks;

namespace Ponder.Cli;

/// <summary><c>ponder eval-rm</c>: step quality against gold labels and best-of-N selection of reward models.</summary>
public static class EvalRmCommand
{
    public const string Usage = """
        ponder eval-rm --rm C[,C2] [--task T] [--policy P] [--count N] [--samples K] [--out DIR] [options]
          --rm                 reward-model checkpoints, at most one PRM and one ORM, comma separated
          --policy P           policy whose samples are scored (default: the one the first model was trained from)
          --task T             held-out problems of this task (default: the model's); needs gold step labels for step figures
          --count N            held-out problems (100)          --samples K   samples per problem, the N of best-of-N (16)
          --temperature X      sampling temperature (1)         --seed S      problems and sampling seed (0)
          --aggregation A      headline PRM aggregation: min|last|product|mean (min); all four are reported
          --out DIR            writes eval-rm.md, eval-rm.json, reward_reliability.png (runs/eval-rm)
          --device cpu|cuda
        """;

    public static int Run(string[] args)
    {
        var o = new Options("eval-rm", args);
        var rmDirs = o.Required("rm").Split(',', StringSplitOptions.TrimEntries);
        if (rmDirs.Any(d => d.Length == 0)) throw new UsageException($"eval-rm: --rm '{o.String("rm")}' has an empty entry");
        string? policyDir = o.String("policy");
        string? taskSpec = o.String("task");
        var options = new RewardEvalOptions
        {
            Count = o.Int("count", 100, 1), Samples = o.Int("samples", 16, 1, 4096), Temperature = o.Double("temperature", 1.0, 0, 10),
            Seed = o.Int("seed", 0), Headline = RewardCommands.Enum(o, "eval-rm", "aggregation", Aggregation.Min),
        };
        string outDir = o.String("out", "runs/eval-rm")!;
        var device = TorchRuntime.Initialize(o.String("device", "cpu")!);
        o.Done();
        if (rmDirs.Length is 0 or > 2) throw new UsageException("eval-rm: --rm takes one or two checkpoints (a PRM and/or an ORM)");
        OutputFolder.RequireWritableFolder("eval-rm", outDir);

        var models = rmDirs.Select(d => LoadedRewardModel.Load(d, device)).ToList();
        if (models.GroupBy(m => m.Kind).Any(g => g.Count() > 1)) throw new UsageException("eval-rm: --rm takes at most one PRM and one ORM");
        policyDir ??= models[0].State.Extra?.GetValueOrDefault(LoadedRewardModel.PolicyKey)
            ?? throw new UsageException($"eval-rm: {rmDirs[0]} does not name its policy; pass --policy");
        var policy = LoadedPolicy.Load(policyDir, device);
        foreach (var m in models) m.RequireSameVocabulary(policy.Tokenizer, policyDir);
        var task = TaskRegistry.Create(taskSpec ?? models[0].State.Task);

        var prm = models.FirstOrDefault(m => m.Kind == RewardModelKind.Prm)?.Scorer(options.Headline);
        var orm = models.FirstOrDefault(m => m.Kind == RewardModelKind.Orm)?.Scorer();
        var result = RewardEvaluation.Run(new Generator(policy.Model, policy.Tokenizer), task, prm, orm, options, new LineProgress("[eval-rm] "));
        Directory.CreateDirectory(outDir);
        string png = Path.Combine(outDir, "reward_reliability.png");
        if (result.Prm is not null || result.Orm is not null) result.PlotReliability(png);
        string command = "./ponder eval-rm " + string.Join(' ', args);
        string markdown = result.ToMarkdown(File.Exists(png) ? "reward_reliability.png" : null,
            $"Made by `{command}`: models {string.Join(", ", rmDirs.Select(d => $"`{d}`"))}, policy `{policyDir}`.");
        AtomicFile.Write(Path.Combine(outDir, "eval-rm.md"), markdown);
        AtomicFile.Write(Path.Combine(outDir, "eval-rm.json"), result.ToJson().ToJsonString(new() { WriteIndented = true }));
        Console.WriteLine(markdown);
        Console.WriteLine($"wrote {Path.Combine(outDir, "eval-rm.md")}, {Path.Combine(outDir, "eval-rm.json")}");
        return 0;
    }
}
