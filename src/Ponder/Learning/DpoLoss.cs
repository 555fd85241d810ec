namespace Ponder.Learning;

/// <summary>
/// The preference loss on a pair's margin m = (log π(y_w) − log π_ref(y_w)) − (log π(y_l) − log π_ref(y_l)), as TRL's
/// DPO <c>loss_type</c> names them.
/// </summary>
public enum DpoLoss
{
    /// <summary>DPO: −log σ(β·m).</summary>
    Sigmoid,

    /// <summary>
    /// IPO (Azar et al. 2023): (m − 1/(2β))², with each completion's log-probability its mean over its tokens (as TRL
    /// computes it): the margin is pulled to a fixed target instead of pushed without end, the remedy the paper gives
    /// for DPO's drift on preferences that are always the same way round.
    /// </summary>
    Ipo,

    /// <summary>SLiC's hinge: max(0, 1 − β·m).</summary>
    Hinge,
}
