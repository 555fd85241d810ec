using Ponder.Learning;
using static TorchSharp.torch;

namespace Ponder.Tests.Learning;

public sealed class RlTrainerTests : IDisposable
{
    readonly TempDirectory dir = new();

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
        string start = ToyBandit.TinyPolicy(dir);
        double before = ToyBandit.DigitFirstProbability(start);

        // When trained 12 rollout batches with the algorithm
        var o = Options(start, algorithm, algorithm.ToString());
        new RlTrainer(o, CPU, new ToyBandit.StartsWithDigit()).Run();

        // Then the probability of the rewarded behaviour has at least doubled
        double after = ToyBandit.DigitFirstProbability(o.Out);
        Assert.True(after > 2 * before && after > 0.3, $"{algorithm}: P(digit first) {before:F3} → {after:F3}");
    }

    [Fact]
    public void Same_seed_gives_the_same_learning_curve()
    {
        string start = ToyBandit.TinyPolicy(dir);
        var a = Options(start, RlAlgorithm.Grpo, "a") with { Steps = 3 };
        var b = Options(start, RlAlgorithm.Grpo, "b") with { Steps = 3 };
        new RlTrainer(a, CPU, new ToyBandit.StartsWithDigit()).Run();
        new RlTrainer(b, CPU, new ToyBandit.StartsWithDigit()).Run();

        static List<string> Curve(string outDir) => MetricsLog.Read(Path.Combine(outDir, "metrics.jsonl"))
            .Select(r => { r.Remove("elapsed_s"); return r.ToJsonString(); }).ToList();
        Assert.Equal(Curve(a.Out), Curve(b.Out));
        Assert.Equal(5, Curve(a.Out).Count);   // eval at 0, three steps, eval at the end
    }

    [Theory]
    [InlineData(RlAlgorithm.Grpo)]
    [InlineData(RlAlgorithm.Ppo)]
    public void Resume_continues_the_same_learning_curve(RlAlgorithm algorithm)
    {
        string start = ToyBandit.TinyPolicy(dir);
        var straight = Options(start, algorithm, "straight") with { Steps = 4 };
        new RlTrainer(straight, CPU, new ToyBandit.StartsWithDigit()).Run();

        var split = Options(start, algorithm, "split") with { Steps = 4 };
        using (var cancel = new CancellationTokenSource())
            new RlTrainer(split, CPU, new ToyBandit.StartsWithDigit()).Run(new CancelAt(2, cancel), cancel.Token);
        new RlTrainer(split with { Resume = true }, CPU, new ToyBandit.StartsWithDigit()).Run();

        static List<string> Curve(string outDir) => MetricsLog.Read(Path.Combine(outDir, "metrics.jsonl"))
            .Where(r => r.ContainsKey("reward")).Select(r => { r.Remove("elapsed_s"); return r.ToJsonString(); }).ToList();
        Assert.Equal(4, Curve(split.Out).Count);
        Assert.Equal(Curve(straight.Out), Curve(split.Out));
    }

    sealed class CancelAt(int step, CancellationTokenSource cancel) : IProgress<TrainProgress>
    {
        public void Report(TrainProgress p)
        {
            if (p.Step >= step && p.Message is null) cancel.Cancel();
        }
    }

    [Fact]
    public void Group_algorithms_refuse_a_group_of_one_before_training()
    {
        string start = ToyBandit.TinyPolicy(dir);
        var o = Options(start, RlAlgorithm.Grpo, "g1") with { GroupSize = 1 };
        var e = Assert.Throws<ArgumentException>(() => new RlTrainer(o, CPU, new ToyBandit.StartsWithDigit()).Run());
        Assert.Contains("at least 2 samples", e.Message);
        Assert.False(Directory.Exists(o.Out));
    }

    public void Dispose() => dir.Dispose();
}
