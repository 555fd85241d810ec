namespace Ponder.Serving;

/// <summary>How an effort level spends its samples.</summary>
public enum ReasoningStrategy
{
    /// <summary>One completion, returned as sampled.</summary>
    Sample,
    /// <summary>Majority vote over the final answers of the samples (self-consistency).</summary>
    Vote,
    /// <summary>Vote weighted by a process reward model's score of each sample's steps; needs a PRM.</summary>
    PrmVote,
}
