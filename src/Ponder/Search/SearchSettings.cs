using System.Globalization;
using Ponder.Rewards;

namespace Ponder.Search;

/// <summary>Settings of every strategy; each reads only its own. Defaults follow search-and-learn where it has one.</summary>
public sealed record SearchSettings
{
    /// <summary>Sampling temperature of every sampled step or solution (greedy always uses 0).</summary>
    public double Temperature { get; init; } = 1.0;

    /// <summary>Final choice among finished candidates; null: majority for best-of-N, PRM-max otherwise.</summary>
    public Selector? Selector { get; init; }

    /// <summary>How PRM step scores become one solution score (ranking beams, PRM selectors, rollout values).</summary>
    public Aggregation Aggregation { get; init; } = Aggregation.Last;

    /// <summary>M: next steps sampled per beam (beam search, DVTS) or per expanded node (MCTS).</summary>
    public int Expansions { get; init; } = 4;

    /// <summary>Beam search: extra greedy steps rolled out before a candidate step is scored (0: score the step itself).</summary>
    public int Lookahead { get; init; }

    /// <summary>MCTS: exploration constant c of PUCT, Q + c·P·√N_parent / (1 + N_child).</summary>
    public double Puct { get; init; } = 1.0;

    /// <summary>MCTS: simulations per unit of N (N × this many simulations).</summary>
    public int SimulationsPerSample { get; init; } = 1;

    /// <summary>MCTS: value of a leaf from the PRM or from a rollout.</summary>
    public LeafValue LeafValue { get; init; } = LeafValue.Prm;

    /// <summary>MCTS: answer path by visits or by value.</summary>
    public FinalChoice FinalChoice { get; init; } = FinalChoice.Visits;

    /// <summary>Revision: attempts per chain (the first by the policy, then revisions); N/rounds chains.</summary>
    public int Rounds { get; init; } = 2;

    public Selector SelectorOr(Selector fallback) => Selector ?? fallback;

    /// <summary>
    /// The settings a strategy reads, by their effort-plan keys (<c>temperature</c> is the plan's <c>@T</c>;
    /// <c>sims</c> is <c>--sims-per-sample</c>). A setting given for a strategy that does not read it is refused by
    /// the command line and by effort plans, rather than silently ignored.
    /// </summary>
    public static IReadOnlySet<string> Keys(StrategyKind kind) => kind switch
    {
        StrategyKind.Greedy => new HashSet<string> { "aggregation" },
        StrategyKind.BestOfN => new HashSet<string> { "temperature", "selector", "aggregation" },
        StrategyKind.Beam => new HashSet<string> { "temperature", "selector", "aggregation", "expansions", "lookahead" },
        StrategyKind.Dvts => new HashSet<string> { "temperature", "selector", "aggregation", "expansions" },
        StrategyKind.Mcts => new HashSet<string> { "temperature", "aggregation", "expansions", "puct", "sims", "leaf", "final" },
        StrategyKind.Revision => new HashSet<string> { "temperature", "selector", "aggregation", "rounds" },
        _ => new HashSet<string>(),
    };

    /// <summary><paramref name="settings"/> once <see cref="Validate"/> passes (a strategy built directly is checked as one made by <see cref="Strategies.Create"/>).</summary>
    public static SearchSettings Checked(SearchSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        return settings;
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        if (!(Temperature >= 0) || double.IsInfinity(Temperature)) throw new ArgumentException($"temperature must be finite and ≥ 0, got {Temperature}");
        if (Expansions < 1) throw new ArgumentException($"expansions must be ≥ 1, got {Expansions}");
        if (Lookahead < 0) throw new ArgumentException($"lookahead must be ≥ 0, got {Lookahead}");
        if (!(Puct >= 0) || double.IsInfinity(Puct)) throw new ArgumentException($"puct must be finite and ≥ 0, got {Puct}");
        if (Rounds < 1) throw new ArgumentException($"rounds must be ≥ 1, got {Rounds}");
        if (SimulationsPerSample < 1) throw new ArgumentException($"simulations per sample must be ≥ 1, got {SimulationsPerSample}");
        if (Selector is { } s && !Enum.IsDefined(s)) throw new ArgumentException($"unknown selector {s}");
        if (!Enum.IsDefined(Aggregation)) throw new ArgumentException($"unknown aggregation {Aggregation}");
    }

    /// <summary>Short text of the settings a strategy uses, for reports.</summary>
    public string Describe(StrategyKind kind) => kind switch
    {
        StrategyKind.Greedy => "greedy",
        StrategyKind.BestOfN => $"best-of-N {Name(SelectorOr(Search.Selector.Majority))}",
        StrategyKind.Beam => string.Create(CultureInfo.InvariantCulture, $"beam M={Expansions}{(Lookahead > 0 ? $" lookahead={Lookahead}" : "")} {Name(SelectorOr(Search.Selector.PrmMax))}"),
        StrategyKind.Dvts => string.Create(CultureInfo.InvariantCulture, $"dvts M={Expansions} {Name(SelectorOr(Search.Selector.PrmMax))}"),
        StrategyKind.Mcts => string.Create(CultureInfo.InvariantCulture, $"mcts M={Expansions} c={Puct} {LeafValue.ToString().ToLowerInvariant()} by {FinalChoice.ToString().ToLowerInvariant()}"),
        StrategyKind.Revision => string.Create(CultureInfo.InvariantCulture, $"revision rounds={Rounds} {Name(SelectorOr(Search.Selector.Majority))}"),
        _ => kind.ToString(),
    };

    private string Name(Selector s) => s switch
    {
        Search.Selector.Majority => "majority",
        Search.Selector.PrmVote => $"prm-vote({Aggregation.ToString().ToLowerInvariant()})",
        Search.Selector.PrmMax => $"prm-max({Aggregation.ToString().ToLowerInvariant()})",
        Search.Selector.OrmVote => "orm-vote",
        Search.Selector.OrmMax => "orm-max",
        _ => "verifier",
    };
}
