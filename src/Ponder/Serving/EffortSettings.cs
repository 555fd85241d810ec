namespace Ponder.Serving;

/// <summary>
/// What each <c>reasoning_effort</c> runs. Defaults: low = one greedy sample (<c>sample:1@0</c>); medium = majority
/// vote over 8 samples at temperature 1 (<c>vote:8@1</c>); high = majority vote over 32 samples at temperature 1
/// (<c>vote:32@1</c>), or a PRM-weighted vote over 32 (<c>prm-vote:32@1</c>) when the server has a process reward
/// model (<see cref="WithPrm"/>). A request's own temperature overrides the plan's.
/// </summary>
public sealed record EffortSettings
{
    public EffortPlan Low { get; init; } = new(ReasoningStrategy.Sample, 1, 0);
    public EffortPlan Medium { get; init; } = new(ReasoningStrategy.Vote, 8, 1);
    public EffortPlan High { get; init; } = new(ReasoningStrategy.Vote, 32, 1);

    /// <summary>The defaults for a server with a PRM: high effort weighs its 32 votes by step scores.</summary>
    public static EffortSettings WithPrm { get; } = new() { High = new(ReasoningStrategy.PrmVote, 32, 1) };

    public EffortPlan For(ReasoningEffort effort) => effort switch
    {
        ReasoningEffort.Low => Low,
        ReasoningEffort.Medium => Medium,
        ReasoningEffort.High => High,
        _ => throw new ArgumentOutOfRangeException(nameof(effort), effort, "unknown effort"),
    };

    /// <summary>Most samples any level takes.</summary>
    public int MaxSamples => Math.Max(Low.Samples, Math.Max(Medium.Samples, High.Samples));

    public void Validate()
    {
        Low.Validate();
        Medium.Validate();
        High.Validate();
    }
}
