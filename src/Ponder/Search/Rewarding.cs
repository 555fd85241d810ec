using Ponder.Rewards;
using Ponder.Tasks;

namespace Ponder.Search;

/// <summary>Reward calls of a search, charged to its meter, with their shapes checked.</summary>
internal static class Rewarding
{
    /// <summary>PRM scores of each node's step prefixes (one score per step); a prefix-cached PRM reuses only this search's (this meter's) work.</summary>
    public static IReadOnlyList<IReadOnlyList<double>> Steps(SearchContext context, ComputeMeter meter, Problem problem, IReadOnlyList<StepNode> nodes)
    {
        var prm = context.Prm ?? throw new InvalidOperationException("this search needs a process reward model (SearchContext.Prm)");
        if (nodes.Count == 0) return [];
        var problems = Enumerable.Repeat(problem, nodes.Count).ToList();
        var steps = nodes.Select(n => n.Steps).ToList();
        var scores = meter.Charge(prm, () =>
        {
            using var turn = Turn(context);
            return prm is IPrefixCachedReward cached ? cached.ScoreSteps(meter, problems, steps) : prm.ScoreSteps(problems, steps);
        });
        if (scores.Count != nodes.Count || Enumerable.Range(0, nodes.Count).Any(i => scores[i].Count != nodes[i].Steps.Count))
            throw new InvalidOperationException("the process reward model returned scores of the wrong shape (one list per solution, one score per step)");
        return scores;
    }

    /// <summary>Aggregated PRM score of each node.</summary>
    public static IReadOnlyList<double> Aggregated(SearchContext context, ComputeMeter meter, Problem problem, IReadOnlyList<StepNode> nodes, Aggregation how) =>
        Steps(context, meter, problem, nodes).Select(s => StepScores.Aggregate(s, how)).ToList();

    /// <summary>Outcome scores of each node's text by <paramref name="reward"/>.</summary>
    public static IReadOnlyList<double> Outcomes(SearchContext context, IOutcomeReward reward, ComputeMeter meter, Problem problem, IReadOnlyList<StepNode> nodes)
    {
        if (nodes.Count == 0) return [];
        var scores = meter.Charge(reward, () =>
        {
            using var turn = Turn(context);
            return reward.Score(Enumerable.Repeat(problem, nodes.Count).ToList(), nodes.Select(n => n.Text).ToList());
        });
        if (scores.Count != nodes.Count) throw new InvalidOperationException("the outcome reward did not return one score per completion");
        return scores;
    }

    // The context's turn at the cores for one reward call (none without RewardTurns).
    private static Policy.ModelTurns.Turn Turn(SearchContext context) => Policy.ModelTurns.TakeOrNone(context.RewardTurns);
}
