using Ponder.Tasks;

namespace Ponder.Search;

/// <summary>The entry both prefix-cached rewards share: check a call, then score its solutions problem by problem.</summary>
internal static class PrefixCachedCall
{
    /// <summary>
    /// Checks the arguments of <see cref="IPrefixCachedReward.ScoreSteps"/> and, holding <paramref name="gate"/>, calls
    /// <paramref name="score"/> once per distinct prompt with the indices of its solutions and the result array to fill.
    /// </summary>
    public static IReadOnlyList<IReadOnlyList<double>> ByProblem(object scope, IReadOnlyList<Problem> problems, IReadOnlyList<IReadOnlyList<string>> steps,
        Lock gate, Action<Problem, List<int>, IReadOnlyList<double>[]> score)
    {
        ArgumentNullException.ThrowIfNull(scope);
        ArgumentNullException.ThrowIfNull(problems);
        ArgumentNullException.ThrowIfNull(steps);
        if (problems.Count != steps.Count) throw new ArgumentException($"{problems.Count} problems but {steps.Count} step lists");
        var result = new IReadOnlyList<double>[steps.Count];
        lock (gate)
        {
            foreach (var group in Enumerable.Range(0, steps.Count).GroupBy(i => problems[i].Prompt))
                score(problems[group.First()], group.ToList(), result);
        }
        return result;
    }
}
