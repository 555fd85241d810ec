namespace Ponder.Search;

/// <summary>The search strategies; <see cref="Strategies.Create"/> makes one.</summary>
public enum StrategyKind
{
    /// <summary>One greedy (temperature 0) solution.</summary>
    Greedy,
    /// <summary>N independent samples, one chosen by a <see cref="Selector"/>.</summary>
    BestOfN,
    /// <summary>Step-level beam search: N beams, each expanded into M next steps, the best N/M kept by the PRM.</summary>
    Beam,
    /// <summary>Diverse verifier tree search: N/M independent subtrees, each a beam search of its own.</summary>
    Dvts,
    /// <summary>Monte-Carlo tree search over steps with PUCT, policy priors and PRM or rollout leaf values.</summary>
    Mcts,
    /// <summary>Sequential revision: parallel chains, each attempt revised by a trained reviser for several rounds.</summary>
    Revision,
    /// <summary>The strategy and settings that did best on a validation split at this budget.</summary>
    ComputeOptimal,
}
