using Ponder.Policy;
using Ponder.Tasks;
using static TorchSharp.torch;

namespace Ponder.Learning;

/// <summary>
/// Monte-Carlo estimate of the sequence-level KL(π ‖ π_ref) on held-out prompts: the mean over
/// completions sampled from π of Σ_t (log π(a_t) − log π_ref(a_t)).
/// </summary>
public static class KlToReference
{
    public static double Estimate(Transformer policy, Transformer reference, ITokenizer tokenizer, IReadOnlyList<Problem> problems,
        int maxNewTokens, int seed, double temperature = 1.0)
    {
        var generator = new Policy.Generator(policy, tokenizer);
        policy.eval();
        var gens = generator.Generate(problems.Select(p => Prompting.Encode(tokenizer, p.Prompt)).ToList(),
            new SamplingOptions { Temperature = temperature, MaxNewTokens = maxNewTokens, Seed = seed });
        using var batch = RolloutBatch.Build(tokenizer, problems, gens.Select(g => g.Tokens).ToArray(), gens.Select(g => g.Text).ToList(), policy.Device,
            temperature: temperature);                                               // the distribution sampled from
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var lp = batch.Score(policy, entropy: false).LogProbs;                       // (N, T)
        var lr = batch.Score(reference, entropy: false).LogProbs;                    // (N, T)
        return ((lp - lr) * batch.Mask).sum(1).mean().item<float>();
    }
}
