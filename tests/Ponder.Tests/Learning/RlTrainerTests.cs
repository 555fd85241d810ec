using Ponder.Learning;
using Ponder.Policy;
using Ponder.Tasks;
using static TorchSharp.torch;

namespace Ponder.Tests.Learning;

public sealed class RlTrainerTests : IDisposable
{
    readonly TempDirectory dir = new();

    /// <summary>A bandit-like toy: any completion that starts with a digit is correct (about 10% of a random policy's first tokens).</summary>
    sealed class StartsWithDigit : ITask
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

    string TinyPolicy()
    {
        var tokenizer = new CharTokenizer();
        var config = new TransformerConfig
        {
            VocabSize = tokenizer.VocabSize, HiddenSize = 32, NumLayers = 1, NumHeads = 2, NumKvHeads = 1, IntermediateSize = 64,
            MaxPositions = 10, BosTokenId = tokenizer.Bos, EosTokenId = tokenizer.Eos, PadTokenId = tokenizer.Pad,
        };
        manual_seed(3);
        var model = new Transformer(config);
        string path = dir.File("start");
        Checkpoint.Save(path, config, model, tokenizer, new CheckpointState { Task = "toy-digit", Kind = "policy" });
        return path;
    }

    /// <summary>P(first completion token is a digit) under the policy in <paramref name="checkpoint"/>.</summary>
    static double DigitFirstProbability(string checkpoint)
    {
        var p = LoadedPolicy.Load(checkpoint, CPU);
        using var noGrad = no_grad();
        var ids = tensor(Prompting.Encode(p.Tokenizer, "a?\n").Select(i => (long)i).ToArray()).unsqueeze(0);
        var probs = p.Model.call(ids)[0, -1].softmax(-1);
        var digits = tensor("0123456789".Select(c => (long)p.Tokenizer.Encode(c.ToString())[0]).ToArray());
        return probs.index_select(0, digits).sum().item<float>();
    }

    RlOptions Options(string start, RlAlgorithm algorithm, string name) => new()
    {
        Policy = start, Out = dir.File(name), Algorithm = algorithm, Steps = 12, PromptsPerStep = 4, GroupSize = 8,
        Lr = 1e-2, Warmup = 1, EvalEvery = 0, EvalCount = 4, CheckpointEvery = 0, Seed = 5,
        EpochsPerBatch = algorithm == RlAlgorithm.Ppo ? 2 : 1,
    };

    [Theory]
    [InlineData(RlAlgorithm.Reinforce)]
    [InlineData(RlAlgorithm.Rloo)]
    [InlineData(RlAlgorithm.Grpo)]
    [InlineData(RlAlgorithm.Ppo)]
    public void Each_algorithm_raises_the_reward_of_a_toy_policy(RlAlgorithm algorithm)
    {
        // Given a random tiny policy that starts a completion with a digit about 10% of the time
        string start = TinyPolicy();
        double before = DigitFirstProbability(start);

        // When trained 12 rollout batches with the algorithm
        var o = Options(start, algorithm, algorithm.ToString());
        new RlTrainer(o, CPU, new StartsWithDigit()).Run();

        // Then the probability of the rewarded behaviour has at least doubled
        double after = DigitFirstProbability(o.Out);
        Assert.True(after > 2 * before && after > 0.3, $"{algorithm}: P(digit first) {before:F3} → {after:F3}");
    }

    [Fact]
    public void Same_seed_gives_the_same_learning_curve()
    {
        string start = TinyPolicy();
        var a = Options(start, RlAlgorithm.Grpo, "a") with { Steps = 3 };
        var b = Options(start, RlAlgorithm.Grpo, "b") with { Steps = 3 };
        new RlTrainer(a, CPU, new StartsWithDigit()).Run();
        new RlTrainer(b, CPU, new StartsWithDigit()).Run();

        static List<string> Curve(string outDir) => MetricsLog.Read(Path.Combine(outDir, "metrics.jsonl"))
            .Select(r => { r.Remove("elapsed_s"); return r.ToJsonString(); }).ToList();
        Assert.Equal(Curve(a.Out), Curve(b.Out));
        Assert.Equal(5, Curve(a.Out).Count);   // eval at 0, three steps, eval at the end
    }

    [Fact]
    public void Group_algorithms_refuse_a_group_of_one_before_training()
    {
        string start = TinyPolicy();
        var o = Options(start, RlAlgorithm.Grpo, "g1") with { GroupSize = 1 };
        var e = Assert.Throws<ArgumentException>(() => new RlTrainer(o, CPU, new StartsWithDigit()).Run());
        Assert.Contains("at least 2 samples", e.Message);
        Assert.False(Directory.Exists(o.Out));
    }

    public void Dispose() => dir.Dispose();
}
