using System.Globalization;
using Ponder.Rewards;

namespace Ponder.Serving;

/// <summary>What one <c>reasoning_effort</c> level runs.</summary>
/// <param name="Strategy">How the samples become one answer.</param>
/// <param name="Samples">Completions sampled per returned choice (the budget).</param>
/// <param name="Temperature">Sampling temperature when the request gives none (0 = greedy).</param>
public sealed record EffortPlan(ReasoningStrategy Strategy, int Samples, double Temperature)
{
    /// <summary>Throws <see cref="ArgumentException"/> naming what is wrong.</summary>
    public void Validate()
    {
        if (Samples < 1) throw new ArgumentException($"effort plan: samples must be ≥ 1, got {Samples}");
        if (Strategy == ReasoningStrategy.Sample && Samples != 1) throw new ArgumentException($"effort plan: 'sample' takes exactly 1 sample, got {Samples}");
        if (!(Temperature >= 0) || double.IsInfinity(Temperature)) throw new ArgumentException($"effort plan: temperature must be finite and ≥ 0, got {Temperature}");
    }

    /// <summary>The reasoner for this plan; <paramref name="prm"/> is required by <see cref="ReasoningStrategy.PrmVote"/>.</summary>
    public IReasoner CreateReasoner(IProcessReward? prm, Aggregation aggregation = Aggregation.Min)
    {
        Validate();
        return Strategy switch
        {
            ReasoningStrategy.Sample => new SingleSample(),
            ReasoningStrategy.Vote => new VoteReasoner(Samples),
            ReasoningStrategy.PrmVote => new VoteReasoner(Samples, prm ?? throw new ArgumentException("effort plan 'prm-vote' needs a process reward model"), aggregation),
            _ => throw new ArgumentOutOfRangeException(nameof(Strategy), Strategy, "unknown strategy"),
        };
    }

    /// <summary>Parses <c>STRATEGY[:SAMPLES][@TEMPERATURE]</c>, e.g. <c>sample@0</c>, <c>vote:8</c>, <c>prm-vote:32@0.8</c>; temperature defaults to 1 (0 for sample).</summary>
    public static EffortPlan Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string rest = text.Trim();
        double? temperature = null;
        int at = rest.IndexOf('@');
        if (at >= 0)
        {
            temperature = double.TryParse(rest[(at + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out double t) ? t
                : throw new ArgumentException($"effort plan '{text}': temperature '{rest[(at + 1)..]}' is not a number");
            rest = rest[..at];
        }
        int? samples = null;
        int colon = rest.IndexOf(':');
        if (colon >= 0)
        {
            samples = int.TryParse(rest[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out int s) ? s
                : throw new ArgumentException($"effort plan '{text}': samples '{rest[(colon + 1)..]}' is not a positive integer");
            rest = rest[..colon];
        }
        var strategy = rest.Replace("-", "", StringComparison.Ordinal).ToLowerInvariant() switch
        {
            "sample" => ReasoningStrategy.Sample,
            "vote" => ReasoningStrategy.Vote,
            "prmvote" => ReasoningStrategy.PrmVote,
            _ => throw new ArgumentException($"effort plan '{text}': unknown strategy '{rest}' (known: sample, vote, prm-vote)"),
        };
        var plan = new EffortPlan(strategy, samples ?? (strategy == ReasoningStrategy.Sample ? 1 : 8),
            temperature ?? (strategy == ReasoningStrategy.Sample ? 0 : 1));
        plan.Validate();
        return plan;
    }

    public override string ToString() =>
        $"{(Strategy == ReasoningStrategy.PrmVote ? "prm-vote" : Strategy.ToString().ToLowerInvariant())}:{Samples}@{Temperature.ToString(CultureInfo.InvariantCulture)}";
}
