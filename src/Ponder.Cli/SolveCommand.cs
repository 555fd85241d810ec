using System.Globalization;
using Ponder.Policy;
using Ponder.Rewards;
using Ponder.Search;
using Ponder.Tasks;

namespace Ponder.Cli;

/// <summary><c>ponder solve</c>: one problem, one strategy, one budget → the answer, the candidates with scores, the compute used.</summary>
public static class SolveCommand
{
    public const string Usage = """
        ponder solve --checkpoint C --strategy S [--budget B] [--task T] [--prm none|gold|DIR] [--reviser R] [--seed S] [--device cpu|cuda] [settings] "problem"
          S: greedy, best-of-n, beam, dvts, mcts, revision (with --reviser R from 'ponder train revise'); B: N (16), tokens (4096tok) or FLOPs (2e9flops)
          --prm gold: the task's exact step checker as an ORACLE process reward (arith, countdown)
        """ + "\n" + SearchOptions.Usage;

    public static int Run(string[] args)
    {
        var o = new Options("solve", args);
        string dir = o.Required("checkpoint");
        var kind = ParseStrategy(o.Required("strategy"));
        var budget = ParseBudget(o.String("budget", "16")!);
        string? taskSpec = o.String("task");
        string prmName = o.String("prm", "none")!;
        string? reviserDir = o.String("reviser");
        int seed = o.Int("seed", 0);
        var settings = SearchOptions.Read(o);
        var limits = SearchOptions.ReadLimits(o);
        var device = TorchRuntime.Initialize(o.String("device", "cpu")!);
        o.Done(maxPositional: 1);
        if (o.Positional.Count == 0) throw new UsageException("solve: give the problem text, e.g. \"347 +128 *3 -219\"");
        if (kind == StrategyKind.ComputeOptimal) throw new UsageException("solve: compute-optimal is chosen per budget by 'ponder scale'; pick a plain strategy");

        var policy = LoadedPolicy.Load(dir, device);
        var task = TaskRegistry.Create(taskSpec ?? policy.State.Task);
        var prm = Prm(prmName, task, policy);
        var strategy = Strategies.Create(kind, settings);
        var context = SearchContext.For(task, new GeneratorPolicy(policy, limits), prm, seed: seed) with
        {
            Reviser = reviserDir is null ? null : new GeneratorPolicy(LoadedPolicy.Load(reviserDir, device), limits),
        };
        strategy.Check(context, budget);

        string text = o.Positional[0].Replace("\\n", "\n", StringComparison.Ordinal).TrimEnd('\n') + "\n";
        var gold = task.GoldSolution(new Problem("cli", text, "0"));
        var problem = new Problem("cli", text, gold is { Count: > 0 } g && g[^1].StartsWith('#') ? g[^1][1..] : "");
        var result = strategy.Solve(problem, context, budget);

        Console.WriteLine($"{result.Description}, budget {budget}, seed {seed}");
        Console.WriteLine($"answer: {result.Answer ?? "(none)"}" + (problem.Answer.Length > 0 ? $"   (reference {problem.Answer}: {(task.Check(problem, result.Completion).Correct ? "correct" : "wrong")})" : ""));
        Console.WriteLine("chosen solution:");
        Console.WriteLine("  " + result.Completion.TrimEnd('\n').Replace("\n", "\n  ", StringComparison.Ordinal));
        Console.WriteLine($"candidates ({result.Candidates.Count}):");
        foreach (var c in result.Candidates.Take(32))
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  score {c.Score,7:F3}  answer {c.Answer ?? "-",-8} steps [{string.Join(" ", c.StepScores.Select(s => s.ToString("F2", CultureInfo.InvariantCulture)))}]  {c.Completion.TrimEnd('\n').Replace("\n", " | ", StringComparison.Ordinal)}"));
        if (result.Candidates.Count > 32) Console.WriteLine($"  … {result.Candidates.Count - 32} more");
        Console.WriteLine($"compute: {result.Compute}; forward/sampled tokens {result.Compute.ForwardPerGenerated:F3}");
        return 0;
    }

    /// <summary>The process reward a name stands for: <c>none</c>, or <c>gold</c> (the oracle step checker, charged like a policy-sized PRM).</summary>
    /// <summary><c>none</c>, <c>gold</c> (the task's exact step checker: an ORACLE baseline) or a learned PRM checkpoint folder.</summary>
    public static IProcessReward? Prm(string name, ITask task, LoadedPolicy policy) => name switch
    {
        "none" => null,
        "gold" => GoldStepReward.SizedLike(task, policy),
        _ when Directory.Exists(name) => LearnedPrm(name, policy),
        _ => throw new UsageException($"option '--prm': '{name}' is neither none, gold nor a reward-model checkpoint folder"),
    };

    static IProcessReward LearnedPrm(string dir, LoadedPolicy policy)
    {
        var rm = LoadedRewardModel.Load(dir, policy.Model.Device);
        if (rm.Tokenizer.ToJson() != policy.Tokenizer.ToJson())
            throw new InvalidDataException($"reward model '{dir}': its tokenizer differs from the policy's '{policy.Dir}'");
        return rm.Scorer();
    }

    public static StrategyKind ParseStrategy(string name)
    {
        try { return Strategies.Parse(name); }
        catch (ArgumentException e) { throw new UsageException($"option '--strategy': {e.Message}"); }
    }

    public static Budget ParseBudget(string text)
    {
        try { return Budget.Parse(text); }
        catch (ArgumentException e) { throw new UsageException($"option '--budget': {e.Message}"); }
    }
}
