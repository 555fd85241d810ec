namespace Ponder.Learning;

/// <summary>Who proposes the solutions that expert iteration verifies and learns from.</summary>
public enum ExpertKind
{
    /// <summary>N samples per problem from the current policy (STaR, ReST-EM).</summary>
    Sample,
    /// <summary>
    /// The policy's greedy completion, and where the verifier rejects it, the policy's next-best tokens at its least certain
    /// positions, each continued greedily (<see cref="UncertainFlips"/>): a small search around the policy's own answer.
    /// </summary>
    Flip,
    /// <summary>The task's gold solutions: an oracle expert, the upper bound for any other (tasks with gold solutions only).</summary>
    Gold,
    /// <summary>
    /// MCTS per problem (<see cref="VerifiedTreeSearch"/>: the policy's steps, leaves valued by verified rollouts), every
    /// finished solution its tree holds an attempt: search, then distill (the AlphaZero-like loop).
    /// </summary>
    Mcts,
}
