using Ponder.Learning;
using Ponder.Policy;
using static TorchSharp.torch;

namespace Ponder.Tests.Learning;

public sealed class RevisionTrainerTests : IDisposable
{
    readonly TempDirectory dir = new();

    // A barely trained policy on two-step one-digit additions: most of its attempts are wrong.
    string Policy(string name, int positions)
    {
        var o = new SftOptions
        {
            Task = "arith:steps=2,digits=1,ops=+", Out = dir.File(name), Seed = 3, Steps = 20, BatchSize = 16, Lr = 1e-2, Warmup = 5,
            EvalEvery = 0, EvalCount = 5, CheckpointEvery = 0,
            Model = new TransformerConfig { HiddenSize = 32, NumLayers = 2, NumHeads = 2, NumKvHeads = 1, IntermediateSize = 64, MaxPositions = positions },
        };
        new SftTrainer(o, CPU).Run();
        return o.Out;
    }

    [Fact]
    public void A_reviser_learns_from_the_policys_wrong_attempts()
    {
        // Given a policy whose context holds a revision prompt and its answer
        var o = new RevisionOptions { Init = Policy("policy", 128), Out = dir.File("reviser"), Problems = 64, Steps = 80, BatchSize = 16, Lr = 1e-2, Warmup = 5 };

        // When a reviser is trained on its wrong attempts (packed, the default)
        int pairs = new RevisionTrainer(o, CPU).Run();

        // Then it has pairs, its loss falls, and the checkpoint is a reviser's
        Assert.True(pairs > 10, $"{pairs} pairs");
        var losses = MetricsLog.Read(Path.Combine(o.Out, "metrics.jsonl")).Select(r => r["loss"]!.GetValue<double>()).ToList();
        Assert.Equal(80, losses.Count);
        Assert.True(losses.TakeLast(5).Average() < 0.7 * losses.Take(5).Average(), $"loss {losses.Take(5).Average():F3} → {losses.TakeLast(5).Average():F3}");
        Assert.Equal("reviser", Checkpoint.ReadState(o.Out).Kind);
    }

    [Fact]
    public void A_context_too_short_for_any_revision_prompt_is_named_as_the_problem()
    {
        // Given a policy of 32 positions, which a problem, an attempt and room for a revision never fit
        var o = new RevisionOptions { Init = Policy("short", 32), Out = dir.File("reviser"), Problems = 32, Steps = 5 };

        // When a reviser is trained from it
        var error = Assert.Throws<InvalidOperationException>(() => new RevisionTrainer(o, CPU).Run());

        // Then the error says that the attempts were wrong but the prompts do not fit, not that there were none
        Assert.Contains("wrong attempts on 32 problems, but no revision prompt", error.Message);
        Assert.Contains("32 positions", error.Message);
        Assert.False(Directory.Exists(o.Out) && Directory.EnumerateFiles(o.Out).Any());
    }

    public void Dispose() => dir.Dispose();
}
