using Ponder.Policy;
using TorchSharp;
using static TorchSharp.torch;

namespace Ponder.Learning;

/// <summary>
/// The clipped policy-gradient loss shared by every algorithm (PPO's surrogate; with one optimizer
/// step per batch the ratio is 1 and it reduces to REINFORCE's −A·log π):
/// <code>
/// ρ_t = exp(log π(a_t) − log π_old(a_t))
/// L_pg = −min(ρ_t·A_t, clip(ρ_t, 1−ε, 1+ε_high)·A_t)
/// L = agg(L_pg + β·KL_t(π ‖ π_ref)) − c_H·agg(H_t)
/// </code>
/// with KL_t the k3 estimate (differentiated as it is, GRPO's way), or for k1 the penalty sg(k1_t)·log π(a_t), whose
/// gradient is each token's own KL gradient at the contexts visited (k1 itself has a gradient of zero mean). That is not
/// InstructGPT's KL in the reward (TRL's PPO and RLOO), which also charges a token for the KL of the tokens after it;
/// with k1 the logged loss holds β·sg(k1)·log π, not a KL.
/// All tensors are (N, T) over action positions; <c>mask</c> is 1 on generated tokens and 0 on prompt
/// and padding, which therefore never contribute. ε_high (DAPO's clip-higher) defaults to ε; a larger upper bound lets
/// positive-advantage tokens whose probability was low rise further before their gradient is cut off. With
/// <c>topEntropy</c> ρ &lt; 1 the policy-gradient term is kept only on the fraction ρ of the batch's action tokens where
/// the policy's entropy is highest (the "forking" tokens of Wang et al. 2025, TRL's <c>top_entropy_quantile</c>); the KL
/// and entropy terms, and the normalizer, stay over every token.
/// </summary>
public static class PolicyLoss
{
    /// <summary>Loss and its parts: (loss, pg, kl, entropy, clip fraction), the parts as plain numbers for logging.</summary>
    /// <param name="clipEpsHigh">Upper clip ε_high (ratio bound 1+ε_high); null means ε (the symmetric PPO clip).</param>
    /// <param name="klMask">Where the KL estimate counts (null: <paramref name="mask"/>). The k1 and k3 estimators assume
    /// tokens the policy sampled itself; replayed rows are masked out (on them k3 is unbounded).</param>
    public static (Tensor Loss, PolicyLossMetrics Metrics) Compute(
        Tensor logProbs, Tensor oldLogProbs, Tensor? refLogProbs, Tensor advantages, Tensor mask, Tensor? entropy,
        double clipEps, double klCoef, KlEstimator kl, double entropyCoef, LossAggregation aggregation, double? clipEpsHigh = null,
        double topEntropy = 1.0, Tensor? klMask = null, int constantLength = 0)
    {
        if (topEntropy < 1 && entropy is null) throw new ArgumentException("top-entropy masking needs the per-token entropy");
        double high = clipEpsHigh ?? clipEps;
        // Zero off the mask before exp: padding's old log-probs (an unpacked pass) and new ones (a packed pass) differ, and
        // an overflowing ratio there would make inf · 0 = NaN of the loss.
        var ratio = (logProbs - oldLogProbs).masked_fill(mask.eq(0), 0).exp();         // (N, T)
        var unclipped = ratio * advantages;                                           // (N, T)
        // The numbers as Scalars held for the whole computation (Policy's Scalars says why inline numbers are unsafe).
        using Scalar low = 1 - clipEps, highBound = 1 + high, klWeight = klCoef, entropyWeight = entropyCoef;
        var clipped = ratio.clamp(low, highBound) * advantages;                       // (N, T)
        var perToken = -minimum(unclipped, clipped);                                  // (N, T)
        if (topEntropy < 1) perToken = perToken * HighEntropyMask(entropy!, mask, topEntropy);
        var pgPerToken = perToken;
        Tensor? klTerm = null;
        if (kl != KlEstimator.None && refLogProbs is not null)
        {
            // log π_ref − log π, zero off the KL mask before exp: a replayed row's ratio can overflow, and inf·0 is NaN.
            var logRatio = klMask is null ? refLogProbs - logProbs : (refLogProbs - logProbs).masked_fill(klMask.eq(0), 0); // (N, T)
            klTerm = kl == KlEstimator.K1 ? -logRatio : logRatio.exp() - logRatio - Scalars.One; // (N, T) the estimate
            // k1's own gradient, ∇log π, is zero in expectation over the policy's samples: as a penalty it enters as a reward
            // (its value, detached, times log π), whose gradient E[(log π − log π_ref)·∇log π] is that of KL(π ‖ π_ref).
            // (Off the mask the log-ratio is 0, so the estimate and the penalty are 0 there.)
            var penalty = kl == KlEstimator.K1 ? klTerm.detach() * logProbs : klTerm;
            if (klCoef != 0) perToken = perToken + penalty.mul(klWeight);
        }
        var loss = Aggregate(perToken, mask, aggregation, constantLength);
        double entropyMean = 0;
        if (entropy is not null)
        {
            var h = Aggregate(entropy, mask, aggregation, constantLength);
            if (entropyCoef != 0) loss = loss - h.mul(entropyWeight);
            // Logged as a per-token mean whatever the loss's normalizer, as the KL and clip fraction are.
            entropyMean = aggregation == LossAggregation.Constant ? Aggregate(entropy.detach(), mask, LossAggregation.Token).item<float>() : h.item<float>();
        }
        using var noGrad = no_grad();
        // As TRL counts it: a ratio clipped where the clip cuts the gradient (below 1−ε with A < 0, above 1+ε_high with A > 0).
        var isClipped = ratio.lt(low).logical_and(advantages.lt(Scalars.Zero)).logical_or(ratio.gt(highBound).logical_and(advantages.gt(Scalars.Zero)));
        var metrics = new PolicyLossMetrics(
            Loss: loss.item<float>(),
            PolicyGradient: Aggregate(pgPerToken, mask, aggregation, constantLength).item<float>(),
            Kl: klTerm is null ? 0 : Aggregate(klTerm, klMask ?? mask, LossAggregation.Token).item<float>(),
            Entropy: entropyMean,
            ClipFraction: Aggregate(isClipped.to(logProbs.dtype), mask, LossAggregation.Token).item<float>());
        return (loss, metrics);
    }

    /// <summary>
    /// 1 on the ⌈fraction·n⌉ action tokens (of the n where <paramref name="mask"/> is 1) with the highest entropy, ties at
    /// the threshold included; 0 elsewhere. (N, T), no gradient.
    /// </summary>
    public static Tensor HighEntropyMask(Tensor entropy, Tensor mask, double fraction)
    {
        using var noGrad = no_grad();
        var on = mask > 0;                                                            // (N, T)
        var h = entropy.detach().masked_select(on);                                   // (n)
        long keep = Math.Max(1, (long)Math.Ceiling(fraction * h.shape[0]));
        if (h.shape[0] == 0 || keep >= h.shape[0]) return on.to(entropy.dtype);
        var threshold = h.topk((int)keep).values.min();                               // the keep-th largest
        return (entropy.detach() >= threshold).logical_and(on).to(entropy.dtype);     // (N, T)
    }

    /// <summary>
    /// Masked mean of (N, T) values per <paramref name="aggregation"/>; <see cref="LossAggregation.Constant"/> divides the
    /// masked sum by N × <paramref name="constantLength"/> (the rollouts' token limit, at least 1).
    /// </summary>
    public static Tensor Aggregate(Tensor values, Tensor mask, LossAggregation aggregation, int constantLength = 0)
    {
        var m = mask.to(values.dtype);                                                // (N, T)
        if (aggregation == LossAggregation.Token)
            return (values * m).sum() / m.sum().clamp_min(Scalars.One);
        if (aggregation == LossAggregation.Constant)
        {
            if (constantLength < 1) throw new ArgumentException("constant aggregation needs the rollouts' token limit", nameof(constantLength));
            return (values * m).sum() / (double)(values.size(0) * constantLength);
        }
        var perSequence = (values * m).sum(1) / m.sum(1).clamp_min(Scalars.One);      // (N)
        return perSequence.mean();
    }
}
