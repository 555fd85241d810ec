using Ponder.Search;

namespace Ponder.Scaling;

/// <summary>One line of a scaling sweep: a strategy with fixed settings, run at every budget.</summary>
/// <param name="Name">Short label used in tables, CSV and plots, e.g. <c>bon-majority</c>.</param>
public sealed record SweepArm(string Name, StrategyKind Kind, SearchSettings Settings)
{
    /// <summary>
    /// The arms a sweep runs by default for the reward models at hand; every arm but greedy samples at
    /// <paramref name="temperature"/> (whole solutions for best-of-N and revision, steps for the trees).
    /// </summary>
    public static IReadOnlyList<SweepArm> Defaults(bool prm, bool orm, bool verifier, bool reviser = false, double temperature = 1.0)
    {
        var sampled = new SearchSettings { Temperature = temperature };
        sampled.Validate();
        var arms = new List<SweepArm>
        {
            new("greedy", StrategyKind.Greedy, new SearchSettings()),
            new("bon-majority", StrategyKind.BestOfN, sampled with { Selector = Selector.Majority }),
        };
        if (verifier) arms.Add(new("bon-verifier", StrategyKind.BestOfN, sampled with { Selector = Selector.Verifier }));
        if (orm) arms.Add(new("bon-orm-vote", StrategyKind.BestOfN, sampled with { Selector = Selector.OrmVote }));
        if (prm)
        {
            arms.Add(new("bon-prm-vote", StrategyKind.BestOfN, sampled with { Selector = Selector.PrmVote }));
            arms.Add(new("bon-prm-max", StrategyKind.BestOfN, sampled with { Selector = Selector.PrmMax }));
            arms.Add(new("beam", StrategyKind.Beam, sampled));
            arms.Add(new("dvts", StrategyKind.Dvts, sampled));
            arms.Add(new("mcts", StrategyKind.Mcts, sampled));
        }
        if (reviser) arms.Add(new("revision", StrategyKind.Revision, sampled with { Selector = prm ? Selector.PrmVote : Selector.Majority }));
        return arms;
    }
}
