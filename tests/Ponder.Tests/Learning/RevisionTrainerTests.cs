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

    [Fact]
    public void A_longer_context_gives_the_reviser_room_for_the_attempts_a_short_policy_cannot_hold()
    {
        // Given the 32-position policy, and a reviser asked for 128 positions
        var init = Policy("short", 32);
        var o = new RevisionOptions { Init = init, Out = dir.File("reviser"), Problems = 32, Steps = 5, BatchSize = 8, Context = 128 };

        // When it is trained
        int pairs = new RevisionTrainer(o, CPU).Run();

        // Then the prompts fit, and the reviser is the policy's weights with 128 positions
        Assert.True(pairs > 0, $"{pairs} pairs");
        Assert.Equal(128, Checkpoint.ReadConfig(o.Out).MaxPositions);
        Assert.Equal(File.ReadAllText(Path.Combine(init, "config.json")).Replace("\"max_position_embeddings\": 32", "\"max_position_embeddings\": 128"),
            File.ReadAllText(Path.Combine(o.Out, "config.json")));
        // and a shorter context than the policy's own is refused
        var shorter = o with { Out = dir.File("shorter"), Context = 16 };
        Assert.Contains("not a shorter one (16)", Assert.Throws<ArgumentException>(() => new RevisionTrainer(shorter, CPU).Run()).Message);
    }

    public void Dispose() => dir.Dispose();
}
