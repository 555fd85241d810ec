using System.Diagnostics;
using Ponder.Search;
using Ponder.Tasks;

namespace Ponder.Scaling;

/// <summary>
/// Runs every arm at every budget N with several seeds on the same problems, and measures accuracy and the compute
/// each search reported. Every (arm, N) is checked before anything runs; cells an arm cannot run are skipped and named.
/// </summary>
public static class ScalingSweep
{
    public static IReadOnlyList<SweepPoint> Run(ITask task, ISearchPolicy policy, SearchContext baseContext, IReadOnlyList<SweepArm> arms,
        SweepOptions options, IProgress<string>? progress = null, ICollection<string>? skipped = null)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(arms);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (arms.GroupBy(a => a.Name).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw new ArgumentException($"arm '{twice.Key}' is named twice; each arm's curve is one name");
        var cells = new List<(SweepArm Arm, ISearchStrategy Strategy, int N)>();
        foreach (var arm in arms)
        {
            var strategy = Strategies.Create(arm.Kind, arm.Settings);
            foreach (int n in arm.Kind == StrategyKind.Greedy ? [1] : options.Budgets)
            {
                try { strategy.Check(baseContext, Budget.Samples(n)); cells.Add((arm, strategy, n)); }
                catch (ArgumentException e) { skipped?.Add($"{arm.Name} N={n}: {e.Message}"); }
            }
        }
        if (arms.Count > 0 && cells.Count == 0) throw new ArgumentException("no arm can run at any of the budgets: " + string.Join("; ", skipped ?? []));

        var problems = task.Problems(options.Split, options.Problems, options.ProblemSeed);
        var points = new List<SweepPoint>();
        foreach (var (arm, strategy, n) in cells)
        {
            for (int seed = 0; seed < options.Seeds; seed++)
            {
                var clock = Stopwatch.StartNew();
                int correct = 0;
                var total = Compute.Zero;
                var (solved, flops, tokens) = (new bool[problems.Count], new double[problems.Count], new double[problems.Count]);
                for (int i = 0; i < problems.Count; i++)
                {
                    var context = baseContext with { Seed = Seeds.Mix(seed, i) };
                    var result = strategy.Solve(problems[i], context, Budget.Samples(n));
                    solved[i] = task.Check(problems[i], result.Completion).Correct;
                    if (solved[i]) correct++;
                    (flops[i], tokens[i]) = (result.Compute.Flops, result.Compute.Tokens);
                    total += result.Compute;
                }
                points.Add(new SweepPoint(arm.Name, arm.Kind.ToString(), n, seed, problems.Count, correct, correct / (double)problems.Count,
                    total.Flops / problems.Count, (double)total.Tokens / problems.Count, total.ForwardPerGenerated, clock.Elapsed.TotalSeconds)
                {
                    Solved = solved, ProblemFlops = flops, ProblemTokens = tokens,
                });
                progress?.Report($"{arm.Name} N={n} seed {seed}: {correct}/{problems.Count} correct, {total.Flops / problems.Count:G3} FLOPs/problem, {clock.Elapsed.TotalSeconds:F1}s");
            }
        }
        return points;
    }
}
