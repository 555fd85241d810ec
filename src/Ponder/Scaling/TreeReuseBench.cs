using System.Diagnostics;
using System.Globalization;
using Ponder.Rewards;
using Ponder.Search;
using Ponder.Tasks;

namespace Ponder.Scaling;

/// <summary>
/// Measures that tree search reuses the KV cache of shared prefixes: for beam search (N beams) and MCTS (N
/// simulations) it reports policy tokens run ÷ tokens sampled (goal ≤ 1.1; 1.0 is the limit, since only the prompt
/// is run without being sampled) and how wall time grows with N. For bench/Ponder.Bench and reports.
/// </summary>
public static class TreeReuseBench
{
    public static IReadOnlyList<ReuseRow> Measure(ITask task, ISearchPolicy policy, IProcessReward prm, IReadOnlyList<int> ns, int problems = 8, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(ns);
        var set = task.Problems(Split.Test, problems, seed);
        var context = SearchContext.For(task, policy, prm);
        var rows = new List<ReuseRow>();
        foreach (var kind in new[] { StrategyKind.Beam, StrategyKind.Mcts })
        {
            var strategy = Strategies.Create(kind);
            foreach (int n in ns)
            {
                var clock = Stopwatch.StartNew();
                var total = Compute.Zero;
                for (int i = 0; i < set.Count; i++) total += strategy.Solve(set[i], context with { Seed = Seeds.Mix(seed, i) }, Budget.Samples(n)).Compute;
                rows.Add(new ReuseRow(kind == StrategyKind.Beam ? "beam (N beams)" : "mcts (N simulations)", n, set.Count,
                    total.PrefillTokens + total.DecodeTokens, total.GeneratedTokens, clock.Elapsed.TotalSeconds));
            }
        }
        return rows;
    }

    /// <summary>The rows as a Markdown table.</summary>
    public static string Table(IReadOnlyList<ReuseRow> rows)
    {
        var lines = new List<string> { "| strategy | N | forward tokens | sampled tokens | forward ÷ sampled | seconds | seconds per N per problem |", "|---|---|---|---|---|---|---|" };
        lines.AddRange(rows.Select(r => string.Create(CultureInfo.InvariantCulture,
            $"| {r.Strategy} | {r.N} | {r.ForwardTokens} | {r.GeneratedTokens} | {r.Ratio:F3} | {r.Seconds:F2} | {r.SecondsPerN:F4} |")));
        return string.Join("\n", lines);
    }
}
