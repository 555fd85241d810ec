using Ponder.Policy;
using Ponder.Tasks;
using static TorchSharp.torch;

namespace Ponder.Tests.Learning;

/// <summary>
/// A bandit-like toy for learning tests: any completion that starts with a digit is correct (about
/// 10% of a random policy's first tokens), so the learnt behaviour is one next-token probability.
/// </summary>
internal static class ToyBandit
{
    public sealed class StartsWithDigit : ITask
    {
        public string Name => "toy-digit";
        public bool HasStepChecker => false;
        public IReadOnlyList<Problem> Problems(Split split, int count, int seed) =>
            Enumerable.Range(0, count).Select(i => new Problem($"{split}{seed}-{i}", $"{(char)('a' + (seed + i) % 26)}?\n", "0")).ToList();
        public Outcome Check(Problem problem, string completion)
        {
            bool ok = completion.Length > 0 && char.IsAsciiDigit(completion[0]);
            return new Outcome(ok, ok ? completion[..1] : null, ok, ok ? null : "no digit first");
        }
        public IReadOnlyList<string>? GoldSolution(Problem problem) => null;
        public bool CheckStep(Problem problem, IReadOnlyList<string> steps) => throw new NotSupportedException();
    }

    /// <summary>The tiny policies' shape: one layer of width 32 over <paramref name="tokenizer"/>'s vocabulary.</summary>
    public static TransformerConfig TinyConfig(ITokenizer tokenizer, int maxPositions = 10) => new()
    {
        VocabSize = tokenizer.VocabSize, HiddenSize = 32, NumLayers = 1, NumHeads = 2, NumKvHeads = 1, IntermediateSize = 64,
        MaxPositions = maxPositions, BosTokenId = tokenizer.Bos, EosTokenId = tokenizer.Eos, PadTokenId = tokenizer.Pad,
    };

    /// <summary>Saves a random tiny policy under <paramref name="dir"/> and returns its folder.</summary>
    public static string TinyPolicy(TempDirectory dir)
    {
        var tokenizer = new CharTokenizer();
        var config = TinyConfig(tokenizer);
        manual_seed(3);
        var model = new Transformer(config);
        string path = dir.File("start");
        Checkpoint.Save(path, config, model, tokenizer, new CheckpointState { Task = "toy-digit", Kind = "policy" });
        return path;
    }

    /// <summary>P(first completion token is a digit) under the policy in <paramref name="checkpoint"/>.</summary>
    public static double DigitFirstProbability(string checkpoint)
    {
        var p = LoadedPolicy.Load(checkpoint, CPU);
        using var noGrad = no_grad();
        var ids = tensor(Prompting.Encode(p.Tokenizer, "a?\n").Select(i => (long)i).ToArray()).unsqueeze(0);
        var probs = p.Model.call(ids)[0, -1].softmax(-1);
        var digits = tensor("0123456789".Select(c => (long)p.Tokenizer.Encode(c.ToString())[0]).ToArray());
        return probs.index_select(0, digits).sum().item<float>();
    }
}
