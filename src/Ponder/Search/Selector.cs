namespace Ponder.Search;

/// <summary>How finished candidates become one answer.</summary>
public enum Selector
{
    /// <summary>Most frequent answer (ties: the one seen first).</summary>
    Majority,
    /// <summary>Answer with the largest sum of aggregated PRM scores.</summary>
    PrmVote,
    /// <summary>Candidate with the best aggregated PRM score.</summary>
    PrmMax,
    /// <summary>Answer with the largest sum of ORM scores.</summary>
    OrmVote,
    /// <summary>Candidate with the best ORM score.</summary>
    OrmMax,
    /// <summary>
    /// Candidate the context's reference-free verifier accepts (only for tasks that verify from the prompt alone,
    /// e.g. countdown; never for tasks that need the reference answer).
    /// </summary>
    Verifier,
}
