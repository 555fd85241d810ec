using static TorchSharp.torch;
using TorchGenerator = TorchSharp.torch.Generator;

namespace Ponder.Policy;

/// <summary>
/// Next-token selection from logits (B, V): temperature, top-k, top-p, then the Gumbel-max trick —
/// argmax(logits/T − log E) with E ~ Exp(1) from a seeded generator is an exact sample from softmax(logits/T)
/// and is one vectorized op per step (torch.multinomial is far slower for batches on CPU).
/// </summary>
public static class Sampler
{
    public static SampledTokens Sample(Tensor logits, SamplingOptions options, TorchGenerator? generator)
    {
        ArgumentNullException.ThrowIfNull(options);
        using var scope = NewDisposeScope();
        var raw = logits.to(ScalarType.Float32);                                      // (B, V)
        Tensor tokens;                                                                 // (B)
        Tensor samplingLogProbs;                                                       // (B)
        if (options.Temperature == 0)
        {
            tokens = raw.argmax(-1);
            samplingLogProbs = zeros([raw.shape[0]], ScalarType.Float32, raw.device);
        }
        else
        {
            var filtered = Filter(raw / options.Temperature, options.TopK, options.TopP); // (B, V)
            var exponential = empty_like(filtered).exponential_(1.0, generator).clamp_min_(1e-30); // (B, V)
            tokens = (filtered - exponential.log()).argmax(-1);
            samplingLogProbs = Pick(filtered.log_softmax(-1), tokens);
        }
        var logProbs = Pick(raw.log_softmax(-1), tokens);                              // (B)
        return new SampledTokens(tokens.MoveToOuterDisposeScope(), logProbs.MoveToOuterDisposeScope(),
            samplingLogProbs.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Scaled logits (B, V) with −∞ outside the kept set: the top-k tokens (exactly k), then among those the
    /// smallest most-likely set whose probability mass reaches <paramref name="topP"/> (a token is kept when
    /// the mass of the tokens ranked above it is below p, so the first is always kept).
    /// </summary>
    internal static Tensor Filter(Tensor scaled, int topK, double topP)
    {
        var vocab = scaled.shape[^1];
        if (!(topK > 0 && topK < vocab) && topP >= 1) return scaled;
        using var scope = NewDisposeScope();
        if (topK > 0 && topK < vocab)
        {
            var (values, indices) = scaled.topk(topK, dim: -1);                       // (B, k)
            scaled = full_like(scaled, double.NegativeInfinity).scatter(-1, indices, values); // (B, V)
        }
        if (topP < 1)
        {
            var (sorted, order) = scaled.sort(-1, descending: true);                  // (B, V)
            var probs = sorted.softmax(-1);                                            // (B, V)
            var massAbove = probs.cumsum(-1) - probs;                                  // (B, V)
            var dropSorted = massAbove.ge(topP);                                       // (B, V)
            var drop = zeros_like(dropSorted).scatter(-1, order, dropSorted);          // (B, V)
            scaled = scaled.masked_fill(drop, double.NegativeInfinity);                // (B, V)
        }
        return scaled.MoveToOuterDisposeScope();
    }

    private static Tensor Pick(Tensor logProbs, Tensor tokens) =>
        logProbs.gather(-1, tokens.unsqueeze(-1)).squeeze(-1);                         // (B)
}
