using Ponder.Learning;
using Ponder.Policy;
using static TorchSharp.torch;

namespace Ponder.Tests.Learning;

public sealed class SftTrainerTests : IDisposable
{
    readonly string dir = Path.Combine(Path.GetTempPath(), "ponder-sft-" + Guid.NewGuid().ToString("N"));

    SftOptions Tiny(string outName, int steps) => new()
    {
        Task = "arith:steps=2,digits=1,ops=+", Out = Path.Combine(dir, outName), Seed = 7,
        Model = new TransformerConfig { HiddenSize = 32, NumLayers = 2, NumHeads = 2, NumKvHeads = 1, IntermediateSize = 64, MaxPositions = 32 },
        Steps = steps, BatchSize = 16, Lr = 1e-2, Warmup = 10, EvalEvery = 0, EvalCount = 20, CheckpointEvery = 0,
    };

    static List<double> Losses(string outDir) =>
        MetricsLog.Read(Path.Combine(outDir, "metrics.jsonl")).Where(r => r.ContainsKey("loss")).Select(r => r["loss"]!.GetValue<double>()).ToList();

    [Fact]
    public void Tiny_model_learns_one_digit_addition_chains()
    {
        // Given two-step additions of one-digit numbers ("3 +4 +5\n" → "3+4=7\n7+5=12\n#12")
        var o = Tiny("learn", 300);

        // When trained for 300 steps
        new SftTrainer(o, CPU).Run();

        // Then the loss on solution tokens falls below 0.5 (it starts near ln(100) ≈ 4.6)
        var losses = Losses(o.Out);
        Assert.True(losses[0] > 3.0, $"first loss {losses[0]}");
        Assert.True(losses.TakeLast(20).Average() < 0.5, $"final loss {losses.TakeLast(20).Average()}");
    }

    [Fact]
    public void A_stop_asked_for_ends_the_run_after_its_step_with_a_checkpoint_that_resumes()
    {
        // Given a long run whose stop is already asked for (Ctrl+C in the CLI)
        var o = Tiny("stopped", 1000);
        using var stop = new CancellationTokenSource();
        stop.Cancel();

        // When it runs, Then it takes one step and saves it
        new SftTrainer(o, CPU).Run(cancel: stop.Token);
        Assert.Equal(1, Checkpoint.ReadState(o.Out).Step);

        // And --resume continues from there
        new SftTrainer(o with { Steps = 3, Resume = true }, CPU).Run();
        Assert.Equal(3, Checkpoint.ReadState(o.Out).Step);
        Assert.Equal(3, Losses(o.Out).Count);
    }

    [Fact]
    public void Same_seed_gives_the_same_losses()
    {
        var a = Tiny("a", 15);
        var b = Tiny("b", 15);
        new SftTrainer(a, CPU).Run();
        new SftTrainer(b, CPU).Run();
        Assert.Equal(Losses(a.Out), Losses(b.Out));
    }

    [Theory]
    [InlineData(true)]    // the C# attention node: all in one row
    [InlineData(false)]   // libtorch's ops: rows as wide as the longest example (three rows for four examples here)
    public void A_packed_supervised_step_updates_the_weights_as_a_padded_one(bool kernels)
    {
        // Given two copies of a model and four examples of very different lengths
        var tokenizer = new CharTokenizer();
        var config = new TransformerConfig
        {
            VocabSize = tokenizer.VocabSize, BosTokenId = tokenizer.Bos, EosTokenId = tokenizer.Eos, PadTokenId = tokenizer.Pad,
            HiddenSize = 32, NumLayers = 2, NumHeads = 2, NumKvHeads = 1, IntermediateSize = 64, MaxPositions = 64,
        };
        List<(string, string)> examples = [("5\n", "#5"), ("12+34\n", "12+34=46\n46+100=146\n146-7=139\n#139"), ("1+2\n", "1+2=3\n#3"), ("7*8\n", "7*8=56\n#56")];
        // (an AdamW whose ε dwarfs every gradient takes a plain gradient step, so the weights' change is the gradient's
        // image; Adam's first step, ±lr wherever a gradient is not tiny, would turn rounding into sign flips)
        (double Loss, Dictionary<string, Tensor> Change) Step(bool pack)
        {
            manual_seed(3);
            var model = new Transformer(config) { TrainingKernels = kernels };
            var before = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
            var optimizer = new AdamW(model.named_parameters().Select(p => (p.name, (Tensor)p.parameter)), eps: 1e3, weightDecay: 0);
            var loss = SupervisedStep.Run(model, optimizer, tokenizer, examples, 1e-2, 1e6, pack).Loss;
            return (loss, model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach() - before[p.name]));
        }

        // When one takes a step on them packed and the other padded
        var packed = Step(pack: true);
        var padded = Step(pack: false);

        // Then the losses and the weights' changes agree within rounding
        Assert.Equal(padded.Loss, packed.Loss, 4);
        foreach (var (name, expected) in padded.Change)
        {
            var diff = Ponder.Tests.Policy.SmallRowLinearTests.RelativeDiff(packed.Change[name], expected);
            Assert.True(diff < 1e-3, $"{name}: relative diff {diff}");
        }
    }

    [Fact]
    public void Packed_steps_follow_the_padded_ones_within_rounding()
    {
        // Given the same run with each step's examples packed into one row (the default) and padded to rows
        var packed = Tiny("packed", 8);
        var padded = Tiny("padded", 8) with { Pack = false };
        var nodes = CausalAttentionFunction.Calls;
        new SftTrainer(packed, CPU).Run();
        Assert.True(CausalAttentionFunction.Calls > nodes, "the steps ran on the C# attention node, which packing needs");
        new SftTrainer(padded, CPU).Run();

        // Then the losses agree (the same function of the same weights, summed in another order)
        var (a, b) = (Losses(packed.Out), Losses(padded.Out));
        Assert.Equal(8, a.Count);
        for (int i = 0; i < a.Count; i++) Assert.Equal(b[i], a[i], 3);
    }

    [Fact]
    public void Resume_continues_exactly_where_it_stopped()
    {
        // Given a run of 20 steps straight through
        var straight = Tiny("straight", 20);
        new SftTrainer(straight, CPU).Run();

        // When another run stops after 10 steps (checkpoint every 10) and is resumed to 20
        var split = Tiny("split", 20) with { CheckpointEvery = 10 };
        using (var cancel = new CancellationTokenSource())
        {
            var stopAfter10 = new Progress10(cancel);
            new SftTrainer(split, CPU).Run(stopAfter10, cancel.Token);
        }
        Assert.Equal(10, Checkpoint.ReadState(split.Out).Step);
        new SftTrainer(split with { Resume = true }, CPU).Run();

        // Then both have the same 20 losses
        var expected = Losses(straight.Out);
        var actual = Losses(split.Out);
        Assert.Equal(20, actual.Count);
        for (int i = 0; i < expected.Count; i++) Assert.Equal(expected[i], actual[i], 4);
    }

    /// <summary>Cancels after step 10 is reported, so the trainer checkpoints step 10 and stops.</summary>
    sealed class Progress10(CancellationTokenSource cancel) : IProgress<TrainProgress>
    {
        public void Report(TrainProgress p)
        {
            if (p.Step >= 10 && p.Message is null) cancel.Cancel();
        }
    }

    public void Dispose()
    {
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }
}
