using System.Diagnostics;
using System.Globalization;
using Ponder.Rewards;
using Ponder.Search;
using Ponder.Tasks;

namespace Ponder.Scaling;

/// <summary>
/// The PRM prefix cache, before and after: the same tree searches (same seeds, so the same trajectories) scored by a
/// PRM without the cache and by the same PRM with it (<see cref="KvCachedPrm"/> or <see cref="PrefixCachedOracle"/>);
/// reward-model tokens charged by the meter, tokens requested, and whether every chosen answer is the same.
/// </summary>
public static class PrmCacheBench
{
    /// <summary>One strategy at one N: reward tokens charged without and with the cache, tokens requested, seconds.</summary>
    public sealed record Row(string Strategy, int N, int Problems, long Before, long After, long Requested, bool SameAnswers, double SecondsBefore, double SecondsAfter);

    public static IReadOnlyList<Row> Measure(ITask task, ISearchPolicy policy, IProcessReward plain, IPrefixCachedReward cached,
        IReadOnlyList<int> ns, int problems = 8, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(cached);
        ArgumentNullException.ThrowIfNull(ns);
        var set = task.Problems(Split.Test, problems, seed);
        var rows = new List<Row>();
        foreach (var kind in new[] { StrategyKind.Beam, StrategyKind.Dvts, StrategyKind.Mcts })
        {
            var strategy = Strategies.Create(kind);
            foreach (int n in ns)
            {
                var before = Run(task, policy, plain, strategy, set, n, seed);
                long requested = Requested(cached);
                var after = Run(task, policy, cached, strategy, set, n, seed);
                rows.Add(new Row(kind.ToString().ToLowerInvariant(), n, set.Count, before.Tokens, after.Tokens, Requested(cached) - requested,
                    before.Answers.SequenceEqual(after.Answers), before.Seconds, after.Seconds));
            }
        }
        return rows;
    }

    private static long Requested(IPrefixCachedReward reward) => reward switch
    {
        KvCachedPrm kv => kv.RequestedTokens,
        PrefixCachedOracle oracle => oracle.RequestedTokens,
        _ => 0,
    };

    private static (long Tokens, List<string> Answers, double Seconds) Run(ITask task, ISearchPolicy policy, IProcessReward prm, ISearchStrategy strategy,
        IReadOnlyList<Problem> set, int n, int seed)
    {
        var context = SearchContext.For(task, policy, prm);
        var clock = Stopwatch.StartNew();
        long tokens = 0;
        var answers = new List<string>();
        for (int i = 0; i < set.Count; i++)
        {
            var result = strategy.Solve(set[i], context with { Seed = Seeds.Mix(seed, i) }, Budget.Samples(n));
            tokens += result.Compute.RewardTokens;
            answers.Add(result.Completion);
        }
        return (tokens, answers, clock.Elapsed.TotalSeconds);
    }

    /// <summary>The rows as a Markdown table.</summary>
    public static string Table(IReadOnlyList<Row> rows)
    {
        var lines = new List<string>
        {
            "| strategy | N | problems | RM tokens, no cache | RM tokens requested | RM tokens computed, cache | computed ÷ requested | same answers | seconds before → after |",
            "|---|---|---|---|---|---|---|---|---|",
        };
        lines.AddRange(rows.Select(r => string.Create(CultureInfo.InvariantCulture,
            $"| {r.Strategy} | {r.N} | {r.Problems} | {r.Before} | {r.Requested} | {r.After} | {r.After / (double)Math.Max(1, r.Requested):F3} | {(r.SameAnswers ? "yes" : "no")} | {r.SecondsBefore:F1} → {r.SecondsAfter:F1} |")));
        return string.Join("\n", lines);
    }
}
