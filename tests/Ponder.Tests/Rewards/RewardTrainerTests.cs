using Ponder.Learning;
using Ponder.Policy;
using Ponder.Rewards;
using Ponder.Tasks;
using Ponder.Tests.Policy;
using static TorchSharp.torch;

namespace Ponder.Tests.Rewards;

public sealed class RewardTrainerTests : IDisposable
{
    readonly TempDirectory dir = new();
    const string TaskSpec = "arith:steps=2,digits=1,ops=+";

    public void Dispose() => dir.Dispose();

    /// <summary>
    /// Separable toy process labels: three steps, each "ok" or "no" at random; a prefix is right while every step
    /// so far is "ok" (as gold labels are). Learnable only by looking back over earlier steps.
    /// </summary>
    static List<LabeledSolution> Toy(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(i =>
        {
            var steps = Enumerable.Range(0, 3).Select(_ => random.NextDouble() < 0.75 ? "ok" : "no").ToList();
            var labels = steps.Select((_, j) => steps.Take(j + 1).All(s => s == "ok") ? 1.0 : 0.0).ToList();
            return new LabeledSolution(new Problem($"{seed}-{i}", $"q{i % 7}\n", "ok"), steps, labels, labels[^1] > 0);
        }).ToList();
    }

    RewardTrainerOptions Setup(int trainSolutions, int steps, LabelSource source = LabelSource.Mc)
    {
        string policyDir = dir.File("policy");
        using var policy = TinyModels.Model(new CharTokenizer().VocabSize, seed: 1, initStd: 0.05);
        Checkpoint.Save(policyDir, policy.Config, policy, new CharTokenizer(), new CheckpointState { Task = TaskSpec });
        var labelling = new LabelOptions { Problems = trainSolutions, Samples = 1, K = 4, Seed = 1 };
        var options = new RewardTrainerOptions
        {
            Kind = RewardModelKind.Prm, Task = TaskSpec, Policy = policyDir, Out = dir.File("prm"), Labelling = labelling, Labels = source,
            Steps = steps, BatchSize = 16, Lr = 3e-3, Warmup = 10, EvalEvery = 0, Seed = 2,
        };
        var solutions = Toy(trainSolutions, seed: 1);
        var header = new LabelHeader(LabelHeader.CurrentFormat, TaskRegistry.Create(TaskSpec).Name, PolicyIdentity.Of(policyDir), source,
            source == LabelSource.Gold ? 0 : 4, 1, trainSolutions, 1, solutions.Count, new LabelCost(0, 0, 0, 0, 0));
        LabelCache.Write(options.LabelPath, new LabelSet(header, solutions));
        return options;
    }

    [Fact]
    public void Tiny_prm_trained_on_separable_toy_labels_reaches_auc_above_0_95()
    {
        // Given 200 labelled toy solutions in a label cache matching a tiny policy
        var options = Setup(200, 150);

        // When a PRM is trained on them for 150 steps
        var nodes = (CausalAttentionFunction.Calls, RmsNormFunction.Calls);
        var result = new RewardTrainer(options, CPU).Run();

        // Then the cache was reused, and on 100 fresh toy solutions the step AUC exceeds 0.95
        Assert.True(result.LabelsReused);
        Assert.Equal(180, result.TrainSolutions);   // the last 10% of problems are held out
        var rm = LoadedRewardModel.Load(options.Out, CPU);
        var test = Toy(100, seed: 9);
        var scores = rm.Scorer().ScoreSteps(test.Select(s => s.Problem).ToList(), test.Select(s => s.Steps).ToList());
        double auc = Classification.RocAuc(scores.SelectMany(s => s).ToList(), test.SelectMany(s => s.Labels.Select(l => l > 0)).ToList());
        Assert.True(auc > 0.95, $"toy step AUC {auc:F3}");
        Assert.True(result.ValidationAuc > 0.9, $"held-out AUC {result.ValidationAuc:F3}");
        Assert.True(CausalAttentionFunction.Calls > nodes.Item1 && RmsNormFunction.Calls > nodes.Item2, "the trunk's gradient passes ran on the C# training nodes");
        Assert.Equal("prm", rm.State.Kind);
        Assert.Equal(PolicyIdentity.Of(options.Policy), rm.State.Extra![LoadedRewardModel.PolicyIdKey]);
    }

    [Fact]
    public void A_prm_on_gold_labels_reuses_their_file_whatever_k_the_run_names()
    {
        // Given a gold label file (k 0 in its header) and a PRM run whose labelling options keep the default k of 4
        var options = Setup(40, 2, LabelSource.Gold);

        // When the PRM trains (as a second run or a resume does, the file being there)
        var result = new RewardTrainer(options, CPU).Run();

        // Then the gold labels were reused, not refused for their k
        Assert.True(result.LabelsReused);
    }

    [Fact]
    public void Resume_continues_exactly_where_it_stopped()
    {
        // Given a 12-step run straight through, and another stopped after 6 steps and resumed
        var straight = Setup(40, 12);
        new RewardTrainer(straight with { Out = dir.File("straight"), LabelCache = straight.LabelPath }, CPU).Run();
        var split = straight with { Out = dir.File("split"), CheckpointEvery = 6, LabelCache = straight.LabelPath };
        using (var cancel = new CancellationTokenSource())
            new RewardTrainer(split, CPU).Run(new StopAfter(6, cancel), cancel.Token);
        Assert.Equal(6, Checkpoint.ReadState(split.Out).Step);
        new RewardTrainer(split with { Resume = true }, CPU).Run();

        // Then both logged the same 12 losses
        static List<double> Losses(string outDir) => MetricsLog.Read(Path.Combine(outDir, "metrics.jsonl"))
            .Where(r => r.ContainsKey("loss")).Select(r => r["loss"]!.GetValue<double>()).ToList();
        var expected = Losses(dir.File("straight"));
        var actual = Losses(split.Out);
        Assert.Equal(12, actual.Count);
        Assert.True(expected.Zip(actual).All(p => Math.Abs(p.First - p.Second) < 1e-4), $"straight {string.Join(", ", expected)}; resumed {string.Join(", ", actual)}");
    }

    sealed class StopAfter(int step, CancellationTokenSource cancel) : IProgress<TrainProgress>
    {
        public void Report(TrainProgress p)
        {
            if (p.Step >= step && p.Message is null) cancel.Cancel();
        }
    }
}
