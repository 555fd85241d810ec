namespace Ponder.Search;

/// <summary>What a <see cref="Budget"/> counts.</summary>
public enum BudgetUnit
{
    /// <summary>N: samples for best-of-N, beams for beam search and DVTS, N × simulations-per-sample for MCTS.</summary>
    Samples,
    /// <summary>Policy and reward-model tokens run (<see cref="Compute.Tokens"/>).</summary>
    Tokens,
    /// <summary>Forward FLOPs of policy and reward model (<see cref="Compute.Flops"/>).</summary>
    Flops,
}
