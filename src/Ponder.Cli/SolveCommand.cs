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
          --prm-cache on|off (on): the PRM keeps its KV cache of scored prefixes, so each reward-model token runs once per problem
        """ + "\n" + SearchOptions.Usage;

    /// <summary>
    /// The reference answer of a question: the built-in tasks solve their own prompts (one that is not theirs is an
    /// error); a JSON-lines task knows the answers of its file's questions, and another question has none ("").
    /// </summary>
    static string Reference(ITask task, string question)
    {
        IReadOnlyList<string>? gold;
        try
        {
            gold = task.GoldSolution(new Problem("cli", question, "0"));
        }
        catch (ArgumentException) when (task is JsonlTask or Ponder.Thinking.ThinkingTask { Inner: JsonlTask })
        {
            return "";
        }
        return gold is { Count: > 0 } g && g[^1].StartsWith('#') ? g[^1].TrimStart('#').Trim() : "";
    }

    public static int Run(string[] args)
    {
        var o = new Options("solve", args);
        string dir = o.Required("checkpoint");
        var kind = ParseStrategy(o.Required("strategy"));
        var budget = ParseBudget(o.String("budget", "16")!);
        string? taskSpec = o.String("task");
        string prmName = o.String("prm", "none")!;
        string? reviserDir = o.String("reviser");
        bool prmCache = PrmCache(o, "solve");
        int seed = o.Int("seed", 0);
        var settings = SearchOptions.Read(o);
        SearchOptions.RequireUsed(o, kind, "solve");
        var limits = SearchOptions.ReadLimits(o);
        var device = TorchRuntime.Initialize(o.String("device", "cpu")!);
        o.Done(maxPositional: 1);
        if (o.Positional.Count == 0) throw new UsageException("solve: give the problem text, e.g. \"347 +128 *3 -219\"");
        if (kind == StrategyKind.ComputeOptimal) throw new UsageException("solve: compute-optimal is chosen per budget by 'ponder scale'; pick a plain strategy");
        if (reviserDir is not null && kind != StrategyKind.Revision)
            throw new UsageException($"solve: --reviser is read by the revision strategy only, not by {Strategies.Name(kind)}");

        var policy = LoadedPolicy.Load(dir, device);
        var task = TaskRegistry.Create(taskSpec ?? policy.State.Task);
        var prm = Prm(prmName, task, policy, prmCache);
        var strategy = Strategies.Create(kind, settings);
        var context = SearchContext.For(task, new GeneratorPolicy(policy, limits), prm, seed: seed) with
        {
            Reviser = reviserDir is null ? null : new GeneratorPolicy(LoadedPolicy.LoadReviser(reviserDir, device), limits),
        };
        strategy.Check(context, budget);

        string text = o.Positional[0].Replace("\\n", "\n", StringComparison.Ordinal).TrimEnd('\n') + "\n";
        var problem = new Problem("cli", text, Reference(task, text));
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
        if (budget.Unit != BudgetUnit.Samples && budget.Measure(result.Compute) > budget.Amount)
            Console.WriteLine($"note: the search spent {budget.Measure(result.Compute):G4} against a budget of {budget}: a strategy takes at least one sample, and one cost more than the budget");
        return 0;
    }

    /// <summary>
    /// <c>none</c>, <c>gold</c> (the task's exact step checker: an ORACLE baseline, charged like a policy-sized PRM) or a
    /// learned PRM checkpoint folder; with <paramref name="prefixCache"/> the PRM runs (or, for gold, is charged for) each
    /// token of a problem's scored prefixes once (<see cref="KvCachedPrm"/>, <see cref="PrefixCachedOracle"/>).
    /// </summary>
    public static IProcessReward? Prm(string name, ITask task, LoadedPolicy policy, bool prefixCache = true) => name switch
    {
        "none" => null,
        "gold" => prefixCache ? PrefixCachedOracle.GoldSizedLike(task, policy) : GoldStepReward.SizedLike(task, policy),
        _ when Directory.Exists(name) => LearnedPrm(name, policy, prefixCache),
        _ => throw new UsageException($"option '--prm': '{name}' is neither none, gold nor a reward-model checkpoint folder"),
    };

    /// <summary>The <c>--prm-cache on|off</c> option (on by default).</summary>
    public static bool PrmCache(Options o, string verb) => o.String("prm-cache", "on") switch
    {
        "on" => true,
        "off" => false,
        var other => throw new UsageException($"{verb}: option '--prm-cache' is on or off, got '{other}'"),
    };

    static IProcessReward LearnedPrm(string dir, LoadedPolicy policy, bool prefixCache)
    {
        var rm = LoadedRewardModel.Load(dir, policy.Model.Device);
        if (rm.Kind != RewardModelKind.Prm)
            throw new UsageException($"option '--prm': '{dir}' is an ORM; step-level search needs a PRM (ponder train prm)");
        if (rm.Tokenizer.ToJson() != policy.Tokenizer.ToJson())
            throw new InvalidDataException($"reward model '{dir}': its tokenizer differs from the policy's '{policy.Dir}'");
        return prefixCache ? new KvCachedPrm(rm.Model, rm.Tokenizer) : rm.Scorer();
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
