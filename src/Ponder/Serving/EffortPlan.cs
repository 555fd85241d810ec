using System.Globalization;
using Ponder.Rewards;
using Ponder.Search;

namespace Ponder.Serving;

/// <summary>
/// What one <c>reasoning_effort</c> level runs: a search strategy (<see cref="Strategies"/>), its budget and its
/// settings. Written <c>STRATEGY[:BUDGET][@TEMPERATURE][,KEY=VALUE…]</c>, e.g. <c>greedy</c>, <c>best-of-n:8@1</c>,
/// <c>beam:16,expansions=4,aggregation=last</c>, <c>mcts:8,leaf=rollout</c>, <c>compute-optimal:2e9flops</c>.
/// </summary>
/// <param name="Strategy">The search strategy.</param>
/// <param name="Budget">N (samples, beams, MCTS units), tokens (<c>4096tok</c>) or FLOPs (<c>2e9flops</c>).</param>
/// <param name="Settings">The strategy's settings; <see cref="SearchSettings.Temperature"/> is the default a request's temperature overrides.</param>
public sealed record EffortPlan(StrategyKind Strategy, Budget Budget, SearchSettings Settings)
{
    /// <summary>The keys a plan may set after its head, each a <see cref="SearchSettings"/> field.</summary>
    public const string Keys = "selector, aggregation, expansions, lookahead, puct, sims, leaf, final, rounds";

    /// <summary>Throws <see cref="ArgumentException"/> naming what is wrong (what a strategy needs from the server is checked when it starts).</summary>
    public void Validate()
    {
        if (Problem() is { } problem) throw new ArgumentException($"effort plan '{this}': {problem}");
    }

    /// <summary>What is wrong with the plan itself; null when nothing is.</summary>
    private string? Problem()
    {
        if (Budget is null || Settings is null) return "budget and settings are required";
        if (!Enum.IsDefined(Strategy)) return $"unknown strategy {Strategy}";
        if (!(Budget.Amount >= 1) || double.IsInfinity(Budget.Amount)) return "the budget must be at least 1";
        if (Strategy == StrategyKind.Greedy && Budget != Budget.Samples(1)) return "greedy runs exactly one sample (budget 1)";
        if (Strategy == StrategyKind.ComputeOptimal && Budget.Unit == BudgetUnit.Samples)
            return "compute-optimal needs a tokens (e.g. 4096tok) or FLOPs (e.g. 2e9flops) budget";
        try
        {
            Settings.Validate();
            return null;
        }
        catch (ArgumentException e)
        {
            return e.Message;
        }
    }

    /// <summary>
    /// Parses <c>STRATEGY[:BUDGET][@TEMPERATURE][,KEY=VALUE…]</c>. The budget defaults to 1 for greedy and 8 otherwise
    /// (compute-optimal needs one); settings not named come from <paramref name="defaults"/> (else <see cref="SearchSettings"/>'s).
    /// </summary>
    public static EffortPlan Parse(string text, SearchSettings? defaults = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        string[] parts = text.Trim().Split(',');
        string head = parts[0].Trim();
        var settings = defaults ?? new SearchSettings();
        int at = head.IndexOf('@');
        bool temperature = at >= 0;
        if (temperature)
        {
            settings = settings with { Temperature = Number(text, "temperature", head[(at + 1)..]) };
            head = head[..at];
        }
        Budget? budget = null;
        int colon = head.IndexOf(':');
        if (colon >= 0)
        {
            try { budget = Budget.Parse(head[(colon + 1)..]); }
            catch (ArgumentException e) { throw new ArgumentException($"effort plan '{text}': {e.Message}", e); }
            head = head[..colon];
        }
        StrategyKind strategy;
        try { strategy = Strategies.Parse(head); }
        catch (ArgumentException e) { throw new ArgumentException($"effort plan '{text}': {e.Message}", e); }
        if (strategy == StrategyKind.ComputeOptimal && budget is null)
            throw new ArgumentException($"effort plan '{text}': compute-optimal needs a budget, e.g. compute-optimal:2e9flops");
        var keys = SearchSettings.Keys(strategy);
        if (temperature && !keys.Contains("temperature"))
            throw new ArgumentException($"effort plan '{text}': {Name(strategy)} takes no temperature");
        foreach (string part in parts.Skip(1))
        {
            settings = Set(text, settings, part);
            string key = part[..part.IndexOf('=')].Trim().ToLowerInvariant();
            if (!keys.Contains(key))
                throw new ArgumentException($"effort plan '{text}': {Name(strategy)} does not use {key} ({(keys.Count == 0 ? "it takes no settings" : "it reads " + string.Join(", ", keys.Where(k => k != "temperature")))})");
        }
        var plan = new EffortPlan(strategy, budget ?? Budget.Samples(strategy == StrategyKind.Greedy ? 1 : 8), settings);
        return plan.Problem() is { } problem ? throw new ArgumentException($"effort plan '{text}': {problem}") : plan;
    }

    /// <summary>The plan as <see cref="Parse"/> reads it: head, then every setting that differs from <see cref="SearchSettings"/>'s defaults.</summary>
    public override string ToString()
    {
        var d = new SearchSettings();
        var s = Settings;
        var text = new System.Text.StringBuilder(Name(Strategy));
        if (Strategy != StrategyKind.Greedy) text.Append(':').Append(BudgetText(Budget));
        if (Strategy is not (StrategyKind.Greedy or StrategyKind.ComputeOptimal)) text.Append('@').Append(Inv(s.Temperature));   // compute-optimal runs its entries' settings
        if (s.Selector is { } selector) text.Append(",selector=").Append(Strategies.Kebab(selector.ToString()));
        if (s.Aggregation != d.Aggregation) text.Append(",aggregation=").Append(Strategies.Kebab(s.Aggregation.ToString()));
        if (s.Expansions != d.Expansions) text.Append(",expansions=").Append(Inv(s.Expansions));
        if (s.Lookahead != d.Lookahead) text.Append(",lookahead=").Append(Inv(s.Lookahead));
        if (s.Puct != d.Puct) text.Append(",puct=").Append(Inv(s.Puct));
        if (s.SimulationsPerSample != d.SimulationsPerSample) text.Append(",sims=").Append(Inv(s.SimulationsPerSample));
        if (s.LeafValue != d.LeafValue) text.Append(",leaf=").Append(Strategies.Kebab(s.LeafValue.ToString()));
        if (s.FinalChoice != d.FinalChoice) text.Append(",final=").Append(Strategies.Kebab(s.FinalChoice.ToString()));
        if (s.Rounds != d.Rounds) text.Append(",rounds=").Append(Inv(s.Rounds));
        return text.ToString();
    }

    /// <summary>The strategy's name as plans write it: greedy, best-of-n, beam, dvts, mcts, revision, compute-optimal.</summary>
    public static string Name(StrategyKind kind) => Strategies.Name(kind);

    private static SearchSettings Set(string text, SearchSettings s, string part)
    {
        int eq = part.IndexOf('=');
        if (eq <= 0) throw new ArgumentException($"effort plan '{text}': '{part}' is not KEY=VALUE (keys: {Keys})");
        string key = part[..eq].Trim().ToLowerInvariant(), value = part[(eq + 1)..].Trim();
        try
        {
            return key switch
            {
                "selector" => s with { Selector = Strategies.ParseEnum<Selector>("selector", value) },
                "aggregation" => s with { Aggregation = Strategies.ParseEnum<Aggregation>("aggregation", value) },
                "expansions" => s with { Expansions = Whole(text, key, value) },
                "lookahead" => s with { Lookahead = Whole(text, key, value) },
                "puct" => s with { Puct = Number(text, key, value) },
                "sims" => s with { SimulationsPerSample = Whole(text, key, value) },
                "leaf" => s with { LeafValue = Strategies.ParseEnum<LeafValue>("leaf value", value) },
                "final" => s with { FinalChoice = Strategies.ParseEnum<FinalChoice>("final choice", value) },
                "rounds" => s with { Rounds = Whole(text, key, value) },
                _ => throw new ArgumentException($"unknown key '{key}' (keys: {Keys})"),
            };
        }
        catch (ArgumentException e) when (!e.Message.StartsWith("effort plan", StringComparison.Ordinal))
        {
            throw new ArgumentException($"effort plan '{text}': {e.Message}", e);
        }
    }

    private static int Whole(string text, string key, string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int v) ? v
            : throw new ArgumentException($"effort plan '{text}': {key} '{value}' is not a whole number");

    private static double Number(string text, string key, string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v
            : throw new ArgumentException($"effort plan '{text}': {key} '{value}' is not a number");

    private static string BudgetText(Budget b) => b.Unit switch
    {
        BudgetUnit.Samples => Inv(b.Amount),
        BudgetUnit.Tokens => Inv(b.Amount) + "tok",
        _ => b.Amount.ToString("0.#####e0", CultureInfo.InvariantCulture) + "flops",
    };

    private static string Inv(double v) => v.ToString(CultureInfo.InvariantCulture);
}
