using Ponder.Learning;
using static TorchSharp.torch;

namespace Ponder.Tests.Learning;

public sealed class PolicyLossTests
{
    [Fact]
    public void Clipped_loss_with_k3_kl_matches_a_hand_computed_case()
    {
        // Given one sequence with three action tokens (the fourth position is padding)
        var logp = tensor(new[] { MathF.Log(0.5f), MathF.Log(0.2f), MathF.Log(0.9f), 0f }).view(1, 4);
        var old = tensor(new[] { MathF.Log(0.25f), MathF.Log(0.2f), MathF.Log(0.3f), 0f }).view(1, 4);
        var refLp = tensor(new[] { MathF.Log(0.5f), MathF.Log(0.4f), MathF.Log(0.9f), 0f }).view(1, 4);
        var adv = tensor(new[] { 1f, -1f, -1f, 5f }).view(1, 4);
        var mask = tensor(new[] { 1f, 1f, 1f, 0f }).view(1, 4);

        // When the loss is computed with ε = 0.2, β = 0.1, k3, token aggregation
        var (loss, metrics) = PolicyLoss.Compute(logp, old, refLp, adv, mask, null, 0.2, 0.1, KlEstimator.K3, 0, LossAggregation.Token);

        // Then, by hand: ratios 2, 1, 3.
        //   t0: A=+1, min(2·1, 1.2·1) = 1.2 → −1.2 ; t1: ratio 1 → −(−1) = 1 ; t2: A=−1, min(−3, −1.2) = −3 → 3
        //   k3: t0 0; t1 r=ln2: 2 − ln2 − 1 = 0.3068528 ; t2 0
        double pg = (-1.2 + 1 + 3) / 3;
        double kl = (2 - Math.Log(2) - 1) / 3;
        Assert.Equal(pg + 0.1 * kl, loss.item<float>(), 5);
        Assert.Equal(pg, metrics.PolicyGradient, 5);
        Assert.Equal(kl, metrics.Kl, 5);
        Assert.Equal(1.0 / 3, metrics.ClipFraction, 5);   // t0 and t2 are outside [0.8, 1.2], but only t0's clip cuts its gradient
    }

    [Fact]
    public void K1_penalises_each_token_by_its_log_ratio_so_its_gradient_is_the_kls()
    {
        // Given two action tokens, zero advantages, the policy above the reference on t0 (log-ratio ln 2) and below on t1 (−ln 2)
        var logits = tensor(new[] { MathF.Log(0.5f), MathF.Log(0.25f) }, requires_grad: true);
        var logp = logits.view(1, 2);
        var refLp = tensor(new[] { MathF.Log(0.25f), MathF.Log(0.5f) }).view(1, 2);
        var zero = zeros(1, 2);

        var (loss, metrics) = PolicyLoss.Compute(logp, logp.detach(), refLp, zero, ones(1, 2), null, 0.2, 0.5, KlEstimator.K1, 0, LossAggregation.Token);

        // Then the logged KL is the mean k1 (0), and each token's gradient is β·k1/2: t0 pushed down (+), t1 up (−).
        // (k1 differentiated as it is would give β/2 on both, whose mean over the policy's samples is zero.)
        Assert.Equal(0, metrics.Kl, 5);
        var grad = autograd.grad([loss], [logits])[0];
        Assert.Equal(0.5 * Math.Log(2) / 2, grad[0].item<float>(), 5);
        Assert.Equal(-0.5 * Math.Log(2) / 2, grad[1].item<float>(), 5);
    }

    [Fact]
    public void A_huge_log_ratio_outside_the_kl_mask_does_not_make_the_loss_nan()
    {
        // Given a replayed row (off the KL mask) where the reference is e¹⁰⁰ times likelier: exp overflows in float32
        var logp = tensor(new[] { MathF.Log(0.5f), -100f }).view(1, 2);
        var refLp = tensor(new[] { MathF.Log(0.5f), 0f }).view(1, 2);

        var (loss, metrics) = PolicyLoss.Compute(logp, logp, refLp, ones(1, 2), ones(1, 2), null, 0.2, 0.1, KlEstimator.K3, 0, LossAggregation.Token,
            klMask: tensor(new[] { 1f, 0f }).view(1, 2));

        Assert.True(float.IsFinite(loss.item<float>()), $"loss {loss.item<float>()}");
        Assert.Equal(0, metrics.Kl, 5);
    }

    [Fact]
    public void A_huge_ratio_on_padding_does_not_make_the_loss_nan()
    {
        // Given a padded position whose old log-prob (an unpacked no-grad pass) is far below the new one (a packed pass)
        var logp = tensor(new[] { MathF.Log(0.5f), MathF.Log(1f / 50) }).view(1, 2);
        var old = tensor(new[] { MathF.Log(0.5f), -200f }).view(1, 2);
        var mask = tensor(new[] { 1f, 0f }).view(1, 2);

        // When the clipped loss is computed (the advantage is 0 off the mask, as the trainer's is)
        var (loss, _) = PolicyLoss.Compute(logp, old, null, mask.clone(), mask, null, 0.2, 0, KlEstimator.None, 0, LossAggregation.Token);

        // Then it is finite: the ratio is 1 there, not e^196 (∞ in float32) times 0
        Assert.True(float.IsFinite(loss.item<float>()), $"loss {loss.item<float>()}");
        Assert.Equal(-1f, loss.item<float>(), 5);
    }

    [Fact]
    public void The_kl_mask_leaves_replayed_rows_out_of_the_kl_term_and_its_estimate()
    {
        // Given two rows of two action tokens; row 1 was replayed, and the policy gives its tokens far less than the
        // reference does (k3 = r − ln r − 1 with r = π_ref/π = e⁶ there: about 397 a token)
        var logits = tensor(new[] { MathF.Log(0.5f), MathF.Log(0.5f), -7f, -7f }, requires_grad: true);
        var logp = logits.view(2, 2);
        var refLp = tensor(new[] { MathF.Log(0.25f), MathF.Log(0.5f), -1f, -1f }).view(2, 2);
        var adv = tensor(new[] { 1f, 1f, 1f, 1f }).view(2, 2);
        var mask = ones(2, 2);
        var klMask = tensor(new[] { 1f, 1f, 0f, 0f }).view(2, 2);

        var (loss, metrics) = PolicyLoss.Compute(logp, logp.detach(), refLp, adv, mask, null, 0.2, 0.1, KlEstimator.K3, 0, LossAggregation.Token, klMask: klMask);

        // Then the KL is row 0's alone (t0: r = 1/2, 0.5 + ln 2 − 1; t1: 0), the policy gradient still covers all four
        // tokens, and the replayed row's gradient is the policy gradient's alone (−A/4 a token)
        double kl = (0.5 + Math.Log(2) - 1) / 2;
        Assert.Equal(kl, metrics.Kl, 5);
        Assert.Equal(-1.0 + 0.1 * kl / 2, loss.item<float>(), 5);
        var grad = autograd.grad([loss], [logits])[0];
        Assert.Equal(-0.25f, grad[2].item<float>(), 5);
        Assert.Equal(-0.25f, grad[3].item<float>(), 5);
    }

    [Fact]
    public void Clip_higher_raises_only_the_upper_ratio_bound()
    {
        // Given three action tokens with ratios 2 (A = +1), 0.5 (A = −1) and 1.4 (A = +1)
        var old = tensor(new[] { MathF.Log(0.2f), MathF.Log(0.4f), MathF.Log(0.5f) }).view(1, 3);
        var adv = tensor(new[] { 1f, -1f, 1f }).view(1, 3);
        var mask = ones(1, 3);
        Tensor Logp() => tensor(new[] { MathF.Log(0.4f), MathF.Log(0.2f), MathF.Log(0.7f) }, requires_grad: true).view(1, 3);

        // When the loss is computed with ε = 0.2, once symmetric and once with ε_high = 0.5
        var symLogp = Logp();
        var (sym, symMetrics) = PolicyLoss.Compute(symLogp, old, null, adv, mask, null, 0.2, 0, KlEstimator.None, 0, LossAggregation.Token);
        var highLogp = Logp();
        var (high, highMetrics) = PolicyLoss.Compute(highLogp, old, null, adv, mask, null, 0.2, 0, KlEstimator.None, 0, LossAggregation.Token,
            clipEpsHigh: 0.5);

        // Then, by hand. Symmetric [0.8, 1.2]: t0 −min(2, 1.2) = −1.2; t1 −min(−0.5, −0.8) = 0.8; t2 −min(1.4, 1.2) = −1.2.
        //   Clip-higher [0.8, 1.5]: t0 −min(2, 1.5) = −1.5; t1 unchanged 0.8 (the lower bound stays 1 − ε); t2 −1.4 (inside).
        Assert.Equal((-1.2 + 0.8 - 1.2) / 3, sym.item<float>(), 5);
        Assert.Equal((-1.5 + 0.8 - 1.4) / 3, high.item<float>(), 5);
        Assert.Equal(1.0, symMetrics.ClipFraction, 5);
        Assert.Equal(2.0 / 3, highMetrics.ClipFraction, 5);   // t2 is no longer clipped
        // And t2, clipped under the symmetric bound, gets a gradient only under clip-higher: d(−ρA)/d log π = −ρA = −1.4 / 3
        var symGrad = autograd.grad([sym], [symLogp])[0];
        var highGrad = autograd.grad([high], [highLogp])[0];
        Assert.Equal(0f, symGrad[0, 2].item<float>());
        Assert.Equal(-1.4 / 3, highGrad[0, 2].item<float>(), 5);
        Assert.Equal(0f, highGrad[0, 0].item<float>());        // ratio 2 is above 1.5: clipped, no gradient
    }

    [Fact]
    public void Top_entropy_keeps_the_policy_gradient_on_the_highest_entropy_action_tokens_only()
    {
        // Given 2 sequences × 4 positions (the last of the first is padding, with the largest entropy of all)
        var entropy = tensor(new[] { 0.1f, 0.9f, 0.5f, 7f, 0.3f, 0f, 0.8f, 0.2f }).view(2, 4);
        var mask = tensor(new[] { 1f, 1f, 1f, 0f, 1f, 1f, 1f, 1f }).view(2, 4);

        // When 40% of the 7 action tokens are kept: ⌈2.8⌉ = 3, those of entropy 0.9, 0.8 and 0.5
        var keep = PolicyLoss.HighEntropyMask(entropy, mask, 0.4).data<float>().ToArray();
        Assert.Equal(new[] { 0f, 1f, 1f, 0f, 0f, 0f, 1f, 0f }, keep);
        Assert.Equal(mask.data<float>().ToArray(), PolicyLoss.HighEntropyMask(entropy, mask, 1.0).data<float>().ToArray());

        // Then the loss (ratio 1: −A on kept tokens) averages over all 7 action tokens: −(2 + 3 + 7) / 7
        var logp = zeros(2, 4);
        var adv = tensor(new[] { 1f, 2f, 3f, 4f, 5f, 6f, 7f, 8f }).view(2, 4);
        var (loss, metrics) = PolicyLoss.Compute(logp, logp, null, adv, mask, entropy, 0.2, 0, KlEstimator.None, 0, LossAggregation.Token,
            topEntropy: 0.4);
        Assert.Equal(-(2.0 + 3 + 7) / 7, loss.item<float>(), 5);
        Assert.Equal(-(2.0 + 3 + 7) / 7, metrics.PolicyGradient, 5);
    }

    [Fact]
    public void Masked_positions_never_contribute_to_loss_or_gradient()
    {
        // Given logits for 2 sequences × 3 positions where the mask zeroes prompt/padding positions
        var logits = randn(2, 3, requires_grad: true);
        var logp = logits.log_sigmoid();
        var old = logp.detach();
        var mask = tensor(new[] { 0f, 1f, 1f, 1f, 0f, 0f }).view(2, 3);
        var adv = tensor(new[] { 9f, 1f, -1f, 2f, -7f, 3f }).view(2, 3);

        foreach (var aggregation in new[] { LossAggregation.Token, LossAggregation.Sequence })
        {
            var (loss, _) = PolicyLoss.Compute(logp, old, null, adv, mask, logp.neg(), 0.2, 0, KlEstimator.None, 0.01, aggregation);
            var grad = autograd.grad([loss], [logits], retain_graph: true)[0];

            // Then the gradient is exactly zero wherever the mask is zero
            Assert.Equal(0f, grad[0, 0].item<float>());
            Assert.Equal(0f, grad[1, 1].item<float>());
            Assert.Equal(0f, grad[1, 2].item<float>());
            Assert.NotEqual(0f, grad[0, 1].item<float>());
        }
    }

    [Fact]
    public void Sequence_aggregation_weighs_sequences_equally()
    {
        var values = tensor(new[] { 1f, 1f, 1f, 4f, 0f, 0f }).view(2, 3);
        var mask = tensor(new[] { 1f, 1f, 1f, 1f, 0f, 0f }).view(2, 3);
        Assert.Equal(7.0 / 4, PolicyLoss.Aggregate(values, mask, LossAggregation.Token).item<float>(), 5);
        Assert.Equal((1.0 + 4.0) / 2, PolicyLoss.Aggregate(values, mask, LossAggregation.Sequence).item<float>(), 5);
        // Dr. GRPO: the masked sum over rows × the token limit, whatever the rows' lengths
        Assert.Equal(7.0 / (2 * 5), PolicyLoss.Aggregate(values, mask, LossAggregation.Constant, constantLength: 5).item<float>(), 5);
        Assert.Throws<ArgumentException>(() => PolicyLoss.Aggregate(values, mask, LossAggregation.Constant));
    }

    [Fact]
    public void Clip_fraction_counts_only_ratios_whose_clip_cuts_the_gradient_as_trl_counts_them()
    {
        // Given ratios 2 and 0.5 outside [0.8, 1.2], once with advantages of the sign the clip cuts, once of the other
        var old = tensor(new[] { MathF.Log(0.2f), MathF.Log(0.4f) }).view(1, 2);
        var logp = tensor(new[] { MathF.Log(0.4f), MathF.Log(0.2f) }).view(1, 2);
        var mask = ones(1, 2);

        var (_, cut) = PolicyLoss.Compute(logp, old, null, tensor(new[] { 1f, -1f }).view(1, 2), mask, null, 0.2, 0, KlEstimator.None, 0, LossAggregation.Token);
        var (_, free) = PolicyLoss.Compute(logp, old, null, tensor(new[] { -1f, 1f }).view(1, 2), mask, null, 0.2, 0, KlEstimator.None, 0, LossAggregation.Token);

        // Then both count where the clip removes the gradient (ratio 2 with A > 0, 0.5 with A < 0), neither where min keeps the unclipped term
        Assert.Equal(1.0, cut.ClipFraction, 5);
        Assert.Equal(0.0, free.ClipFraction, 5);
    }

    [Fact]
    public void Group_advantages_match_hand_computed_values()
    {
        var r = tensor(new[] { 1f, 0f, 0f, 1f, 1f, 1f, 1f, 1f }).view(2, 4);

        var grpo = Advantages.Grpo(r, normalizeStd: true).data<float>().ToArray();
        double std = Math.Sqrt(1.0 / 3);   // unbiased std of {1,0,0,1}
        Assert.Equal(0.5 / (std + 1e-4), grpo[0], 4);
        Assert.Equal(-0.5 / (std + 1e-4), grpo[1], 4);
        Assert.Equal(0f, grpo[4]);          // a group that all agree carries no signal

        var dr = Advantages.Grpo(r, normalizeStd: false).data<float>().ToArray();
        Assert.Equal(0.5f, dr[0], 5);

        var rloo = Advantages.Rloo(r).data<float>().ToArray();
        Assert.Equal(1 - 1.0 / 3, rloo[0], 5);  // 1 − mean(0, 0, 1)
        Assert.Equal(0 - 2.0 / 3, rloo[1], 5);  // 0 − mean(1, 0, 1)
    }

    [Fact]
    public void Negative_advantages_are_scaled_by_the_weight_and_positive_ones_kept()
    {
        var a = tensor(new[] { 1.5f, -1f, 0f, -2f });
        Assert.Equal(new[] { 1.5f, -0.25f, 0f, -0.5f }, Advantages.WeighNegatives(a, 0.25).data<float>().ToArray());
        Assert.Equal(new[] { 1.5f, 0f, 0f, 0f }, Advantages.WeighNegatives(a, 0).data<float>().ToArray());
        Assert.Equal(new[] { 1.5f, -1f, 0f, -2f }, Advantages.WeighNegatives(a, 1).data<float>().ToArray());
    }

    [Fact]
    public void Gae_follows_the_recursion_over_action_tokens_only()
    {
        // Row: [prompt, a0, a1, pad]; reward 1 on a1; values 0.5 and 0.25; γ = 1, λ = 0.5.
        var mask = tensor(new[] { 0f, 1f, 1f, 0f }).view(1, 4);
        var rewards = tensor(new[] { 0f, 0f, 1f, 0f }).view(1, 4);
        var values = tensor(new[] { 9f, 0.5f, 0.25f, 9f }).view(1, 4);
        var (adv, ret) = Advantages.Gae(rewards, values, mask, 1.0, 0.5);
        var a = adv.data<float>().ToArray();
        // δ1 = 1 − 0.25 = 0.75 → A1 = 0.75 ; δ0 = 0 + 0.25 − 0.5 = −0.25 → A0 = −0.25 + 0.5·0.75 = 0.125
        Assert.Equal(0f, a[0]);
        Assert.Equal(0.125f, a[1], 5);
        Assert.Equal(0.75f, a[2], 5);
        Assert.Equal(0f, a[3]);
        Assert.Equal(0.625f, ret[0, 1].item<float>(), 5);
    }
}
