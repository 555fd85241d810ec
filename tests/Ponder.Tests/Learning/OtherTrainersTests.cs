using Ponder.Learning;
using Ponder.Policy;
using static TorchSharp.torch;

namespace Ponder.Tests.Learning;

public sealed class OtherTrainersTests : IDisposable
{
    readonly TempDirectory dir = new();

    [Fact]
    public void Dpo_on_verifier_pairs_raises_the_rewarded_behaviour()
    {
        string start = ToyBandit.TinyPolicy(dir);
        double before = ToyBandit.DigitFirstProbability(start);
        var o = new DpoOptions
        {
            Policy = start, Out = dir.File("dpo"), Steps = 12, ProblemsPerStep = 8, SamplesPerProblem = 8, Beta = 0.5, Lr = 1e-2,
            EvalEvery = 0, EvalCount = 4, Seed = 2,
        };
        var nodes = (CausalAttentionFunction.Calls, RmsNormFunction.Calls);
        new DpoTrainer(o, CPU, new ToyBandit.StartsWithDigit()).Run();
        double after = ToyBandit.DigitFirstProbability(o.Out);
        Assert.True(after > 2 * before, $"P(digit first) {before:F3} → {after:F3}");
        Assert.True(CausalAttentionFunction.Calls > nodes.Item1 && RmsNormFunction.Calls > nodes.Item2, "DPO's gradient passes ran on the C# training nodes");
    }

    [Fact]
    public void Expert_iteration_learns_from_verified_samples_each_round()
    {
        string start = ToyBandit.TinyPolicy(dir);
        double before = ToyBandit.DigitFirstProbability(start);
        var o = new ExpertIterationOptions
        {
            Policy = start, Out = dir.File("ei"), Rounds = 2, ProblemsPerRound = 16, SamplesPerProblem = 8, KeepPerProblem = 2,
            StepsPerRound = 10, Epochs = null, Restart = ExpertRestart.Continue, Accumulate = false, BatchSize = 16, Lr = 1e-2, EvalCount = 4, Seed = 2,
        };
        var nodes = CausalAttentionFunction.Calls;
        new ExpertIteration(o, CPU, taskOverride: new ToyBandit.StartsWithDigit()).Run();
        Assert.True(CausalAttentionFunction.Calls > nodes, "the fine-tuning steps ran on the C# training nodes");

        double after = ToyBandit.DigitFirstProbability(o.Out);
        Assert.True(after > 2 * before, $"P(digit first) {before:F3} → {after:F3}");
        var rounds = MetricsLog.Read(Path.Combine(o.Out, "metrics.jsonl")).Where(r => r.ContainsKey("kept")).ToList();
        Assert.Equal(2, rounds.Count);
        Assert.True(rounds[1]["sample_accuracy"]!.GetValue<double>() > rounds[0]["sample_accuracy"]!.GetValue<double>());
    }

    public void Dispose() => dir.Dispose();
}
