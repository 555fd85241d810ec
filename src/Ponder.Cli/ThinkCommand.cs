using System.Globalization;
using System.Text.Json.Nodes;
using Ponder.Policy;
using Ponder.Scaling;
using Ponder.Tasks;
using Ponder.Thinking;

namespace Ponder.Cli;

/// <summary><c>ponder think</c>: search traces, thinking budgets and the thinking stage.</summary>
public static class ThinkCommand
{
    public const string Usage = """
        ponder think traces [--task countdown:numbers=3] [--expansions N] [--fallback drop|optimal] [--maxlen CHARS] [--path | --path-back] [--count N] [--seed S] [--show K]
                             token lengths of every trace style (optimal, dfs, bfs, best, heuristic); --show prints K example traces;
                             --path: state lines carry the moves that led to them; --path-back: only the 'back to' lines do
        ponder think scale --checkpoint C [--task T] [--budgets 16,32,64,128,256] [--force] [--samples K] [--count N] [--out DIR]
                             (also: ponder scale --thinking, ponder think-scale) accuracy against thinking budget (hard cap; --force adds budget forcing
                             with the cue 'wait'), and k-sample parallel scaling on the same token axis; --out writes PNG + JSON
        ponder think measure --checkpoint C [--task T] [--count N] [--budget B] [--force] [--show K]
                             behaviour of greedy completions: dead ends, backtracks, revisions, invalid lines, and why the
                             wrong ones failed (unclosed, solved but answered wrong, slipped, ended unsolved)
        ponder think stage [--quick|--demo] [--out DIR] [--seed S] [--train-tokens N] [--rl-steps N]
                             the thinking stage alone: trace vs optimal SFT at equal tokens, budget sweep, GRPO
                             (--demo: the size ponder demo runs; --quick: toy size)
          every verb that runs a model takes --device cpu|cuda; task specs: think:countdown:numbers=3,style=dfs|bfs|best|heuristic|optimal,expansions=N[,path=0|1|back]
        """;

    public static int Run(string[] args)
    {
        string verb = args.Length == 0 ? "" : args[0];
        var o = new Options("think " + verb, args.Length == 0 ? [] : args[1..]);
        return verb switch
        {
            "traces" => Traces(o),
            "scale" => Scale(o),
            "measure" => Measure(o),
            "stage" => Stage(o),
            _ => throw new UsageException($"think: unknown verb '{verb}' (known: traces, scale, measure, stage)"),
        };
    }

    static int Traces(Options o)
    {
        string spec = o.String("task", "countdown:numbers=3")!;
        if (Ponder.Thinking.ThinkingTaskSpec.Matches(spec))
            throw new UsageException($"think traces: --task takes the task traces are written for, e.g. countdown:numbers=3 (every style is measured; expansions, fallback and maxlen are options here), not '{spec}'");
        var inner = TaskRegistry.Create(spec);
        var options = new TraceOptions(TraceStyle.Dfs, o.Int("expansions", new TraceOptions().MaxExpansions, 1),
            o.String("fallback", "drop") switch
            {
                "drop" => TraceFallback.Drop,
                "optimal" => TraceFallback.Optimal,
                var bad => throw new UsageException($"think traces: --fallback must be drop or optimal, got '{bad}'"),
            },
            o.Int("maxlen", 0, 0), Paths(o));
        int count = o.Int("count", 500, 1, 100_000), seed = o.Int("seed", 1), show = o.Int("show", 0, 0, 1_000);
        o.Done();
        var styles = inner is CountdownTask ? Enum.GetValues<TraceStyle>() : [TraceStyle.OptimalOnly];
        Console.WriteLine($"{inner.Name}: {count} training problems, seed {seed}, at most {options.MaxExpansions} expansions{(options.MaxLength > 0 ? $" and {options.MaxLength} characters" : "")}, fallback {options.Fallback.ToString().ToLowerInvariant()}");
        Console.WriteLine(TraceLengths.ToMarkdown(TraceLengths.Measure(inner, options, styles, new CharTokenizer(), count, seed)));
        foreach (var problem in inner.Problems(Split.Train, show, seed))
            foreach (var style in styles)
            {
                var task = new ThinkingTask(inner, options with { Style = style });
                Console.WriteLine($"--- {ThinkingTaskSpec.StyleName(style)}\n{problem.Prompt}{(task.GoldSolution(problem) is { } gold ? Solution.Join(gold) : "(dropped: not solved within the bound)")}");
            }
        return 0;
    }

    /// <summary><c>--path</c> (every state line) or <c>--path-back</c> (only the back-to lines); both is a usage error.</summary>
    static TracePath Paths(Options o) => (o.Flag("path"), o.Flag("path-back")) switch
    {
        (true, true) => throw new UsageException("think traces: give --path or --path-back, not both"),
        (true, false) => TracePath.States,
        (false, true) => TracePath.BackTo,
        _ => TracePath.None,
    };

    static (LoadedPolicy Policy, ThinkingTask Task) Load(Options o)
    {
        string dir = o.Required("checkpoint");
        string? spec = o.String("task");
        var device = TorchRuntime.Initialize(o.String("device", "cpu")!);
        var policy = LoadedPolicy.Load(dir, device);
        return TaskRegistry.Create(spec ?? policy.State.Task) is ThinkingTask task
            ? (policy, task)
            : throw new UsageException($"think: task '{spec ?? policy.State.Task}' is not a think:... task (give --task think:countdown:...)");
    }

    static int Scale(Options o)
    {
        var budgets = ScaleCommand.ParseBudgets("think scale", o.String("budgets", "16,32,64,128,256")!, min: 0, max: 1 << 16);
        bool force = o.Flag("force");
        int samples = o.Int("samples", 8, 0, 1024), count = o.Int("count", 200, 1);
        string? outDir = o.String("out");
        var (policy, task) = Load(o);
        o.Done();
        if (outDir is not null) OutputFolder.RequireWritableFolder("think scale", outDir);
        var problems = task.Problems(Split.Test, count, 0);
        var greedy = new SamplingOptions { Temperature = 0 };
        var curve = BudgetSweep.Sequential(policy.Model, policy.Tokenizer, task, problems, budgets, force, greedy);
        Console.WriteLine($"{task.Name}: {count} held-out problems, greedy, {(force ? "cap + budget forcing" : "hard cap")}");
        Console.WriteLine("| budget | accuracy | thinking tokens | tokens written | compute tokens | capped | forcings |\n|---|---|---|---|---|---|---|");
        foreach (var p in curve)
            Console.WriteLine($"| {p.Budget} | {p.Accuracy:P1} | {p.MeanThinkingTokens:F1} | {p.MeanGeneratedTokens:F1} | {p.MeanComputeTokens:F1} | {p.CappedFraction:P0} | {p.MeanForcings:F2} |");
        var parallel = samples == 0 ? [] : BudgetSweep.Parallel(policy.Model, policy.Tokenizer, task, problems, samples,
            new ThinkingBudget { MaxThinkingTokens = policy.Model.Config.MaxPositions }, 1.0, 0);
        bool vote = BudgetSweep.AnswersVote(task);   // not for countdown: its answers all name the target
        if (parallel.Count > 0)
        {
            if (!vote) Console.WriteLine("\nk samples: pass@k is best of k with the verifier; no maj@k, since countdown's answers all name the target.");
            Console.WriteLine(vote ? "\n| k | pass@k | maj@k | tokens written | compute tokens |\n|---|---|---|---|---|" : "\n| k | pass@k | tokens written | compute tokens |\n|---|---|---|---|");
            foreach (var p in parallel)
                Console.WriteLine($"| {p.K} | {p.PassAtK:P1} |{(vote ? $" {p.MajorityAtK:P1} |" : "")} {p.MeanGeneratedTokens:F0} | {p.MeanComputeTokens:F0} |");
        }
        if (outDir is not null)
        {
            List<Series> series =
            [
                new Series(force ? "thinking cap + forcing" : "thinking cap", curve.Select(p => p.MeanGeneratedTokens).ToList(), curve.Select(p => p.Accuracy).ToList()),
                new Series("k samples, verifier picks (pass@k)", parallel.Select(p => p.MeanGeneratedTokens).ToList(), parallel.Select(p => p.PassAtK).ToList()),
            ];
            if (vote) series.Add(new Series("k samples, maj@k", parallel.Select(p => p.MeanGeneratedTokens).ToList(), parallel.Select(p => p.MajorityAtK!.Value).ToList()));
            Plots.Lines(Path.Combine(outDir, "think_scale.png"), "Thinking budget vs samples", "tokens written per problem", "held-out accuracy", series, logX: true);
            var json = new JsonObject
            {
                ["task"] = task.Name, ["checkpoint"] = policy.Dir, ["forced"] = force,
                ["sequential"] = new JsonArray([.. curve.Select(p => (JsonNode)JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(p))!)]),
                ["parallel"] = new JsonArray([.. parallel.Select(p => (JsonNode)JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(p))!)]),
            };
            AtomicFile.Write(Path.Combine(outDir, "think_scale.json"), json.ToJsonString(JsonText.Indented));
            Console.WriteLine($"wrote {Path.Combine(outDir, "think_scale.png")} and think_scale.json");
        }
        return 0;
    }

    static int Measure(Options o)
    {
        int count = o.Int("count", 200, 1);
        int? budget = o.OptionalInt("budget", 0);
        int show = o.Int("show", 0, 0);
        bool force = o.Flag("force");
        var (policy, task) = Load(o);
        o.Done();
        var problems = task.Problems(Split.Test, count, 0);
        int cap = budget ?? policy.Model.Config.MaxPositions;
        var thinking = new ThinkingBudget { MaxThinkingTokens = cap, MinThinkingTokens = force ? cap : 0 };
        var (results, _) = BudgetSweep.Run(policy.Model, policy.Tokenizer, problems, thinking, new SamplingOptions { Temperature = 0 });
        var completions = results.Select(r => r.Completion).ToList();
        for (int i = 0; i < Math.Min(show, problems.Count); i++)
            Console.WriteLine($"--- {(task.Check(problems[i], completions[i]).Correct ? "correct" : "wrong")}\n{problems[i].Prompt}{completions[i]}");
        var b = ThinkingBehaviour.Measure(task, policy.Tokenizer, problems, completions);
        var json = JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(b))!.AsObject();
        json["Failures"] = JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(ThinkingBehaviour.Failures(task, problems, completions)));
        Console.WriteLine(json.ToJsonString(JsonText.Indented));
        return 0;
    }

    static int Stage(Options o)
    {
        bool quick = o.Flag("quick"), demo = o.Flag("demo");
        if (quick && demo) throw new UsageException("think stage: give --quick or --demo, not both");
        string outDir = o.String("out", "runs/think")!;
        int seed = o.Int("seed", 1);
        var recipe = quick ? ThinkingRecipe.Quick(seed) : demo ? ThinkingRecipe.Demo(seed) : ThinkingRecipe.Full(seed);
        recipe = recipe with
        {
            TrainTokens = o.Int("train-tokens", (int)recipe.TrainTokens, 1000),
            RlSteps = o.Int("rl-steps", recipe.RlSteps, 1),
        };
        var device = TorchRuntime.Initialize(o.String("device", "cpu")!);
        o.Done();
        OutputFolder.RequireEmpty("think stage", outDir);       // an earlier stage's checkpoints are not overwritten
        OutputFolder.RequireWritableFolder("think stage", outDir);
        var progress = new LineProgress();
        var result = ThinkingStage.Run(outDir, recipe, device, progress, pair => SideBySide.Train(pair, device, progress));
        AtomicFile.Write(Path.Combine(outDir, "report.md"), "# Thinking stage\n\n" + result.Markdown);
        AtomicFile.Write(Path.Combine(outDir, "summary.json"), result.Summary.ToJsonString(JsonText.Indented));
        Console.WriteLine($"wrote {Path.Combine(outDir, "report.md")} and summary.json");
        return 0;
    }
}
