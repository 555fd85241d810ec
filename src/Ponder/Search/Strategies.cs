namespace Ponder.Search;

/// <summary>Makes a strategy from its kind and settings (validated before any work).</summary>
public static class Strategies
{
    /// <summary>Every strategy but compute-optimal, which is built from a validation sweep (<see cref="ComputeOptimal"/>).</summary>
    public static IReadOnlyList<StrategyKind> Plain { get; } =
        [StrategyKind.Greedy, StrategyKind.BestOfN, StrategyKind.Beam, StrategyKind.Dvts, StrategyKind.Mcts];

    public static ISearchStrategy Create(StrategyKind kind, SearchSettings? settings = null)
    {
        settings ??= new SearchSettings();
        settings.Validate();
        return kind switch
        {
            StrategyKind.Greedy => new GreedySearch(settings),
            StrategyKind.BestOfN => new BestOfN(settings),
            StrategyKind.Beam => new BeamSearch(settings),
            StrategyKind.Dvts => new Dvts(settings),
            StrategyKind.Mcts => new Mcts(settings),
            StrategyKind.Revision => new SequentialRevision(settings),
            StrategyKind.ComputeOptimal => throw new ArgumentException("compute-optimal is built from a validation sweep: new ComputeOptimal(plan)"),
            _ => throw new ArgumentException($"unknown strategy {kind}"),
        };
    }

    /// <summary>Parses a strategy name (greedy, best-of-n, beam, dvts, mcts), case-insensitive; <see cref="ArgumentException"/> lists the known ones.</summary>
    public static StrategyKind Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        string key = name.Trim().Replace("-", "", StringComparison.Ordinal).Replace("_", "", StringComparison.Ordinal);
        foreach (var kind in Enum.GetValues<StrategyKind>())
            if (string.Equals(kind.ToString(), key, StringComparison.OrdinalIgnoreCase)) return kind;
        throw new ArgumentException($"unknown strategy '{name}' (known: greedy, best-of-n, beam, dvts, mcts, revision, compute-optimal)");
    }

    /// <summary>Parses an enum value by name (case-insensitive, '-' ignored); <see cref="ArgumentException"/> lists the known ones.</summary>
    public static T ParseEnum<T>(string what, string name) where T : struct, Enum
    {
        ArgumentNullException.ThrowIfNull(name);
        string key = name.Trim().Replace("-", "", StringComparison.Ordinal);
        foreach (var value in Enum.GetValues<T>())
            if (string.Equals(value.ToString(), key, StringComparison.OrdinalIgnoreCase)) return value;
        throw new ArgumentException($"unknown {what} '{name}' (known: {string.Join(", ", Enum.GetNames<T>().Select(Kebab))})");
    }

    /// <summary>A strategy's name as the command line and effort plans write it: greedy, best-of-n, beam, dvts, mcts, revision, compute-optimal.</summary>
    public static string Name(StrategyKind kind) => Kebab(kind.ToString());

    /// <summary>PrmVote → prm-vote, BestOfN → best-of-n: enum names as the usage texts and effort plans spell them.</summary>
    internal static string Kebab(string name) =>
        string.Concat(name.Select((c, i) => char.IsUpper(c) && i > 0 ? "-" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));
}
