namespace Ponder.Learning;

/// <summary>Policy-gradient algorithms: each is an advantage estimator plus the shared clipped loss.</summary>
public enum RlAlgorithm
{
    /// <summary>REINFORCE with a moving-average baseline: A = r − b.</summary>
    Reinforce,
    /// <summary>REINFORCE leave-one-out: A_i = r_i − mean of the other samples of the same prompt.</summary>
    Rloo,
    /// <summary>Group-relative: A_i = (r_i − mean) / std over the prompt's samples (std optional: Dr. GRPO drops it, and aggregates with a constant normalizer).</summary>
    Grpo,
    /// <summary>PPO: value head on the policy's trunk, GAE(γ, λ) per token, clipped ratio, and a value loss (clipped with <see cref="RlOptions.ValueClip"/>).</summary>
    Ppo,
}
