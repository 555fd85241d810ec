using Ponder.Rewards;
using Ponder.Search;

namespace Ponder.Cli;

/// <summary>The strategy settings shared by <c>ponder solve</c> and <c>ponder scale</c>, read from command-line options.</summary>
public static class SearchOptions
{
    public const string Usage = """
          --temperature X (1.0)  --selector majority|prm-vote|prm-max|orm-vote|orm-max|verifier  --aggregation last|min|product|mean
          --expansions M (4)  --lookahead K (0)  --puct C (1.0)  --sims-per-sample S (1)  --leaf prm|rollout  --final visits|value  --rounds R (2)
          --max-steps (12)  --max-step-tokens (48)  --max-new-tokens (160)
        """;

    public static SearchSettings Read(Options o)
    {
        var d = new SearchSettings();
        string? selector = o.String("selector");
        var settings = new SearchSettings
        {
            Temperature = o.Double("temperature", d.Temperature, 0, 10),
            Selector = selector is null ? null : Parse<Selector>("selector", selector),
            Aggregation = Parse<Aggregation>("aggregation", o.String("aggregation", "last")!),
            Expansions = o.Int("expansions", d.Expansions, 1, 1024),
            Lookahead = o.Int("lookahead", d.Lookahead, 0, 64),
            Puct = o.Double("puct", d.Puct, 0, 100),
            SimulationsPerSample = o.Int("sims-per-sample", d.SimulationsPerSample, 1, 1024),
            LeafValue = Parse<LeafValue>("leaf", o.String("leaf", "prm")!),
            FinalChoice = Parse<FinalChoice>("final", o.String("final", "visits")!),
            Rounds = o.Int("rounds", d.Rounds, 1, 64),
        };
        return settings;
    }

    /// <summary>The command-line options of the settings, by their effort-plan keys (<see cref="SearchSettings.Keys"/>).</summary>
    private static readonly (string Option, string Key)[] Settings =
    [
        ("temperature", "temperature"), ("selector", "selector"), ("aggregation", "aggregation"), ("expansions", "expansions"),
        ("lookahead", "lookahead"), ("puct", "puct"), ("sims-per-sample", "sims"), ("leaf", "leaf"), ("final", "final"), ("rounds", "rounds"),
    ];

    /// <summary>Refuses a setting given for a strategy that does not read it (it would be silently ignored).</summary>
    public static void RequireUsed(Options o, StrategyKind kind, string verb)
    {
        var keys = SearchSettings.Keys(kind);
        if (Settings.FirstOrDefault(s => o.String(s.Option) is not null && !keys.Contains(s.Key)) is { Option: { } unused })
            throw new UsageException($"{verb}: --{unused} is not a setting of {Strategies.Name(kind)}");
    }

    public static SearchLimits ReadLimits(Options o)
    {
        var d = new SearchLimits();
        return new SearchLimits
        {
            MaxSteps = o.Int("max-steps", d.MaxSteps, 1, 256),
            MaxStepTokens = o.Int("max-step-tokens", d.MaxStepTokens, 1, 4096),
            MaxNewTokens = o.Int("max-new-tokens", d.MaxNewTokens, 1, 1 << 16),
        };
    }

    private static T Parse<T>(string option, string value) where T : struct, Enum
    {
        try { return Strategies.ParseEnum<T>(option, value); }
        catch (ArgumentException e) { throw new UsageException($"option '--{option}': {e.Message}"); }
    }
}
