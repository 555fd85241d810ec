using Ponder.Policy;
using TorchSharp;
using static TorchSharp.torch;

namespace Ponder.Tests.Rewards;

/// <summary>
/// A real <see cref="Transformer"/> whose next-token distribution depends only on the current token, with
/// log-probabilities set by hand: every block's weights are zero (the residual stream is the one-hot embedding),
/// so logits = lm_head · RMSNorm(one-hot) and lm_head holds the table. Sampling from it has known odds.
/// </summary>
internal static class BigramPolicy
{
    /// <summary>Logit of every next token not named in the table: probability ≈ e^−30, never sampled in practice.</summary>
    const float Never = -30f;

    /// <summary>A model over <paramref name="vocab"/> tokens where token i is followed by token v with probability <paramref name="next"/>[i][v].</summary>
    public static Transformer Create(int vocab, IReadOnlyDictionary<int, IReadOnlyDictionary<int, double>> next)
    {
        int hidden = (vocab + 3) / 4 * 4;                                             // ≥ vocab, divisible by 4 heads
        var config = new TransformerConfig
        {
            VocabSize = vocab, HiddenSize = hidden, IntermediateSize = 8, NumLayers = 1, NumHeads = 4, NumKvHeads = 4,
            MaxPositions = 64, TieWordEmbeddings = false, RmsNormEps = 1e-12,
        };
        var model = new Transformer(config);
        using var noGrad = no_grad();
        var parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var p in parameters.Values) p.zero_();
        parameters["model.norm.weight"].fill_(1);
        var embedding = zeros(vocab, hidden);                                         // (V, C) one-hot rows
        var head = full(vocab, hidden, Never / MathF.Sqrt(hidden));                   // (V, C): head[v, i] = logit(v | i) / √C
        for (int i = 0; i < vocab; i++)
        {
            embedding[i, i] = 1;
            if (!next.TryGetValue(i, out var row)) continue;
            foreach (var (v, p) in row) head[v, i] = (float)Math.Log(p) / MathF.Sqrt(hidden);
        }
        parameters["model.embed_tokens.weight"].copy_(embedding);
        parameters["lm_head.weight"].copy_(head);
        model.eval();
        return model;
    }
}
