using Ponder.Policy;
using TorchSharp;
using static TorchSharp.torch;

namespace Ponder.Tests.Policy;

/// <summary>Small seeded models for policy tests, with reference computations that use only the full forward pass.</summary>
internal static class TinyModels
{
    /// <summary>GQA (4 query heads, 2 kv heads). A large init std makes logits peaky, so greedy choices have wide margins.</summary>
    public static TransformerConfig Config(int vocab, double initStd = 0.3, int maxPositions = 128) => new()
    {
        VocabSize = vocab,
        HiddenSize = 32,
        IntermediateSize = 64,
        NumLayers = 2,
        NumHeads = 4,
        NumKvHeads = 2,
        MaxPositions = maxPositions,
        InitializerRange = initStd,
    };

    public static Transformer Model(int vocab, long seed = 0, double initStd = 0.3, int maxPositions = 128)
    {
        torch.manual_seed(seed);
        var model = new Transformer(Config(vocab, initStd, maxPositions));
        model.eval();
        return model;
    }

    /// <summary>Random token ids in [3, vocab) (never PAD/BOS/EOS), seeded.</summary>
    public static int[] RandomTokens(int count, int vocab, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => random.Next(3, vocab)).ToArray();
    }

    /// <summary>Logits (T, V) of one sequence by the full causal forward pass.</summary>
    public static Tensor FullLogits(Transformer model, IEnumerable<int> tokens)
    {
        using var noGrad = no_grad();
        var ids = tensor(tokens.Select(t => (long)t).ToArray()).unsqueeze(0); // (1, T)
        return model.call(ids).squeeze(0);                                      // (T, V)
    }

    /// <summary>Greedy continuation by repeated full forward passes (no cache), stopping after <paramref name="eos"/> if given.</summary>
    public static List<int> GreedyReference(Transformer model, int[] prompt, int count, int? eos = null)
    {
        var sequence = prompt.ToList();
        var generated = new List<int>();
        for (var i = 0; i < count; i++)
        {
            using var scope = NewDisposeScope();
            var token = (int)FullLogits(model, sequence)[-1].argmax().item<long>();
            sequence.Add(token);
            generated.Add(token);
            if (token == eos) break;
        }
        return generated;
    }

    public static float MaxAbsDiff(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        return (a - b).abs().max().to(ScalarType.Float32).item<float>();
    }
}
