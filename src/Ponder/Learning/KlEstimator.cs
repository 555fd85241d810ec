namespace Ponder.Learning;

/// <summary>Per-token estimator of KL(π ‖ π_ref) from log-ratios on sampled tokens (Schulman's k1/k3).</summary>
public enum KlEstimator
{
    /// <summary>No KL term.</summary>
    None,
    /// <summary>k1 = log π − log π_ref (unbiased, can be negative); in the loss as a detached per-token penalty times log π (a reward, as InstructGPT puts it).</summary>
    K1,
    /// <summary>k3 = exp(log π_ref − log π) − (log π_ref − log π) − 1 (unbiased, always ≥ 0; GRPO's choice).</summary>
    K3,
}
