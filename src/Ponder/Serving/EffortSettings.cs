using Ponder.Rewards;
using Ponder.Search;

namespace Ponder.Serving;

/// <summary>
/// What each <c>reasoning_effort</c> runs (<see cref="EffortPlan"/>). Defaults: low = one greedy solution
/// (<c>greedy</c>); medium = best-of-N majority vote over 8 samples at temperature 1 (<c>best-of-n:8@1</c>); high =
/// best-of-N majority over 32 (<c>best-of-n:32@1</c>), or, when the server has a process reward model
/// (<see cref="WithPrm"/>), PRM-guided step-level beam search with 16 beams, 4 expansions each, ranked by the PRM's
/// score of the last step (<c>beam:16@1</c>). A request's own temperature overrides the plan's.
/// </summary>
public sealed record EffortSettings
{
    public EffortPlan Low { get; init; } = new(StrategyKind.Greedy, Budget.Samples(1), new SearchSettings());
    public EffortPlan Medium { get; init; } = new(StrategyKind.BestOfN, Budget.Samples(8), new SearchSettings());
    public EffortPlan High { get; init; } = new(StrategyKind.BestOfN, Budget.Samples(32), new SearchSettings());

    /// <summary>The defaults for a server with a PRM: high effort is a PRM-guided beam search.</summary>
    public static EffortSettings WithPrm { get; } = ForPrm(Aggregation.Last);

    /// <summary>The PRM defaults with the PRM's step scores aggregated by <paramref name="aggregation"/>.</summary>
    public static EffortSettings ForPrm(Aggregation aggregation) =>
        new() { High = new(StrategyKind.Beam, Budget.Samples(16), new SearchSettings { Aggregation = aggregation }) };

    public EffortPlan For(ReasoningEffort effort) => effort switch
    {
        ReasoningEffort.Low => Low,
        ReasoningEffort.Medium => Medium,
        ReasoningEffort.High => High,
        _ => throw new ArgumentOutOfRangeException(nameof(effort), effort, "unknown effort"),
    };

    public IEnumerable<(ReasoningEffort Effort, EffortPlan Plan)> All =>
        Enum.GetValues<ReasoningEffort>().Select(e => (e, For(e)));

    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Low);
        ArgumentNullException.ThrowIfNull(Medium);
        ArgumentNullException.ThrowIfNull(High);
        Low.Validate();
        Medium.Validate();
        High.Validate();
    }

    public override string ToString() => $"low = {Low}, medium = {Medium}, high = {High}";
}
