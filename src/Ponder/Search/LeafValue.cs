namespace Ponder.Search;

/// <summary>Where MCTS gets the value of a leaf.</summary>
public enum LeafValue
{
    /// <summary>The PRM's score of the leaf's last step (no extra policy tokens).</summary>
    Prm,
    /// <summary>Finish the leaf by sampling and score the finished solution (aggregated PRM, else ORM).</summary>
    Rollout,
}
