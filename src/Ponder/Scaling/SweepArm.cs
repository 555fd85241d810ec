using Ponder.Search;

namespace Ponder.Scaling;

/// <summary>One line of a scaling sweep: a strategy with fixed settings, run at every budget.</summary>
/// <param name="Name">Short label used in tables, CSV and plots, e.g. <c>bon-majority</c>.</param>
public sealed record SweepArm(string Name, StrategyKind Kind, SearchSettings Settings)
{
    /// <summary>The arms a sweep runs by default for the reward models at hand.</summary>
    public static IReadOnlyList<SweepArm> Defaults(bool prm, bool orm, bool verifier, bool reviser = false)
    {
        var arms = new List<SweepArm>
        {
            new("greedy", StrategyKind.Greedy, new SearchSettings()),
            new("bon-majority", StrategyKind.BestOfN, new SearchSettings { Selector = Selector.Majority }),
        };
        if (verifier) arms.Add(new("bon-verifier", StrategyKind.BestOfN, new SearchSettings { Selector = Selector.Verifier }));
        if (orm) arms.Add(new("bon-orm-vote", StrategyKind.BestOfN, new SearchSettings { Selector = Selector.OrmVote }));
        if (prm)
        {
            arms.Add(new("bon-prm-vote", StrategyKind.BestOfN, new SearchSettings { Selector = Selector.PrmVote }));
            arms.Add(new("bon-prm-max", StrategyKind.BestOfN, new SearchSettings { Selector = Selector.PrmMax }));
            arms.Add(new("beam", StrategyKind.Beam, new SearchSettings()));
            arms.Add(new("dvts", StrategyKind.Dvts, new SearchSettings()));
            arms.Add(new("mcts", StrategyKind.Mcts, new SearchSettings()));
        }
        if (reviser) arms.Add(new("revision", StrategyKind.Revision, new SearchSettings { Selector = prm ? Selector.PrmVote : Selector.Majority }));
        return arms;
    }
}
