namespace Ponder.Search;

/// <summary>
/// A reward model that reports what it spent, so the compute meter charges search for it. Implement it next to
/// <see cref="Rewards.IProcessReward"/> or <see cref="Rewards.IOutcomeReward"/>: search reads <see cref="Tokens"/>
/// before and after each scoring call and charges the difference × <see cref="FlopsPerToken"/>.
/// A reward without this interface is charged nothing (an exact verifier costs no network FLOPs).
/// </summary>
public interface IMeteredReward
{
    /// <summary>Tokens run through the reward network so far (monotone; never reset by search).</summary>
    long Tokens { get; }

    /// <summary>Forward FLOPs per token of the reward network (e.g. <see cref="Policy.Transformer.FlopsPerToken"/> at a typical context).</summary>
    double FlopsPerToken { get; }
}
