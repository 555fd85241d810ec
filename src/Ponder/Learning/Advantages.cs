using static TorchSharp.torch;

namespace Ponder.Learning;

/// <summary>
/// Advantage estimators over a <c>(groups, samples)</c> view of sequence rewards — each a few lines —
/// and GAE for PPO's per-token rewards and values.
/// </summary>
public static class Advantages
{
    /// <summary>GRPO: (r − mean_group) / (std_group + ε); without std normalization (Dr. GRPO) just r − mean.</summary>
    public static Tensor Grpo(Tensor rewards, bool normalizeStd, double eps = 1e-4)   // rewards (G, S)
    {
        var centered = rewards - rewards.mean([1], keepdim: true);                     // (G, S)
        return normalizeStd ? centered / (rewards.std(1, keepdim: true) + eps) : centered;
    }

    /// <summary>RLOO: r_i − mean of the other S−1 samples of the group = S/(S−1)·(r_i − mean).</summary>
    public static Tensor Rloo(Tensor rewards)                                          // rewards (G, S)
    {
        long s = rewards.shape[1];
        if (s < 2) throw new ArgumentException("RLOO needs at least 2 samples per prompt");
        return (rewards - rewards.mean([1], keepdim: true)) * (s / (double)(s - 1));  // (G, S)
    }

    /// <summary>
    /// Advantages below zero scaled by <paramref name="weight"/> (1: unchanged; 0: only better-than-baseline rollouts
    /// are learned from, as in online rejection-sampling fine-tuning); positive ones unchanged.
    /// </summary>
    public static Tensor WeighNegatives(Tensor advantages, double weight) =>
        weight == 1 ? advantages : where(advantages < 0, advantages * weight, advantages);

    /// <summary>REINFORCE with a baseline b (e.g. a moving average of past rewards).</summary>
    public static Tensor Reinforce(Tensor rewards, double baseline) => rewards - baseline;

    /// <summary>
    /// Generalized advantage estimation over action tokens: δ_t = r_t + γ·V_{t+1} − V_t,
    /// A_t = δ_t + γλ·A_{t+1}, where t+1 is the next action token of the same row (V after the last is 0).
    /// rewards, values, mask: (N, T). Returns (advantages, returns = A + V), both (N, T), zero off the mask.
    /// </summary>
    public static (Tensor Advantages, Tensor Returns) Gae(Tensor rewards, Tensor values, Tensor mask, double gamma, double lambda)
    {
        var m = mask.to(ScalarType.Float32).cpu();
        var r = rewards.to(ScalarType.Float32).cpu();
        var v = values.to(ScalarType.Float32).cpu();
        long n = m.shape[0], t = m.shape[1];
        var mh = m.data<float>().ToArray();
        var rh = r.data<float>().ToArray();
        var vh = v.data<float>().ToArray();
        var adv = new float[n * t];
        for (long i = 0; i < n; i++)
        {
            double next = 0, nextValue = 0;
            for (long j = t - 1; j >= 0; j--)
            {
                long k = i * t + j;
                if (mh[k] == 0) continue;
                double delta = rh[k] + gamma * nextValue - vh[k];
                next = delta + gamma * lambda * next;
                adv[k] = (float)next;
                nextValue = vh[k];
            }
        }
        var advantages = tensor(adv, [n, t]).to(values.device);
        return (advantages, (advantages + values.detach()) * mask.to(values.dtype));
    }
}
