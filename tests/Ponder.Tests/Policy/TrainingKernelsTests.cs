using Ponder.Policy;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Ponder.Tests.Policy;

public sealed class TrainingKernelsTests
{
    // Relative agreement of gradients with libtorch's ops: the same sums in other orders, and a vectorized exp.
    private const double Relative = 1e-4;

    [Theory]
    [InlineData(32, 4, 2, 13, false)]   // head size 8 (scalar rotary halves), GQA, T not a multiple of 8
    [InlineData(64, 2, 2, 65, true)]    // head size 32 (the default's), q/k/v biases, T just past a multiple of 8
    [InlineData(64, 4, 1, 24, false)]   // head size 16, four query heads on one kv head
    [InlineData(48, 2, 1, 3, false)]    // head size 24 (a vector and a scalar tail), three tokens
    [InlineData(32, 2, 2, 40, false, 16)] // 640 rows: norms and gating split over threads
    [InlineData(64, 2, 2, 65, false, 4, 1.5)] // sharp attention: most weights of a row negligible
    public void Gradients_match_libtorch_ops(int hidden, int heads, int kvHeads, int t, bool attentionBias, int batch = 3, double initStd = 0.2)
    {
        // Given a model with random biases and gains, a batch of token rows and a loss on every position
        var config = new TransformerConfig
        {
            VocabSize = 40, HiddenSize = hidden, IntermediateSize = 2 * hidden + 8, NumLayers = 2, NumHeads = heads,
            NumKvHeads = kvHeads, MaxPositions = 80, AttentionBias = attentionBias, InitializerRange = initStd,
        };
        torch.manual_seed(t);
        using var model = new Transformer(config);
        using var scope = NewDisposeScope();
        using (no_grad())
            foreach (var (name, p) in model.named_parameters())
                if (name.EndsWith(".bias", StringComparison.Ordinal) || name.EndsWith("norm.weight", StringComparison.Ordinal)) p.normal_(0.5, 0.5);
        var ids = randint(3, 40, [batch, t]);                                            // (B, T)
        var targets = randint(0, 40, [batch, t]);                                        // (B, T)
        (float Loss, Dictionary<string, Tensor> Grads) Run(bool kernels)
        {
            model.TrainingKernels = kernels;
            model.zero_grad();
            var loss = F.cross_entropy(model.call(ids).view(-1, 40), targets.view(-1));
            loss.backward();
            return (loss.item<float>(), model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.clone()));
        }

        // When the loss is differentiated with the C# training kernels and with libtorch's ops
        var calls = (CausalAttentionFunction.Calls, RmsNormFunction.Calls, SiluGateFunction.Calls);
        var (ours, ourGrads) = Run(kernels: true);
        Assert.True(SavedTensors.Available, "TorchSharp's saved variables can be released after a node's backward");
        Assert.True(CausalAttentionFunction.Calls > calls.Item1 && RmsNormFunction.Calls > calls.Item2 && SiluGateFunction.Calls > calls.Item3, "the C# nodes ran");
        var (theirs, theirGrads) = Run(kernels: false);

        // Then loss and every parameter's gradient agree
        Assert.Equal(theirs, ours, 4);
        foreach (var (name, expected) in theirGrads)
        {
            var diff = SmallRowLinearTests.RelativeDiff(ourGrads[name], expected);
            Assert.True(diff < Relative, $"{name}: relative diff {diff}");
        }
    }

    [Theory]
    [InlineData(32, 65)]    // the default's shapes: heads of 32, T just past a multiple of 16
    [InlineData(16, 23)]    // heads of 16 (no 32-column block), an odd chunk count
    [InlineData(48, 9)]     // heads of 48: one 32-column block and a 16-column rest
    public void The_attention_node_on_sixteen_float_vectors_gives_the_same_output_and_gradients_bit_for_bit(int hs, int t)
    {
        if (!System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated) return;           // the wide loops run only with AVX-512
        // Given q/k/v rows of a GQA layer (four query heads on two kv heads), rotary tables and an output gradient
        torch.manual_seed(hs + t);
        using var scope = NewDisposeScope();
        var (heads, kvHeads, batch) = (4, 2, 3);
        using var rotary = new Rotary(hs, t, 10000);
        var (cos, sin) = rotary.Lookup(arange(t, ScalarType.Int64).unsqueeze(0), ScalarType.Float32); // (1, 1, T, hs)
        var qkv = randn(batch, t, (heads + 2 * kvHeads) * hs);                                       // (B, T, W)
        var g = randn(batch, t, heads * hs);                                                         // (B, T, nh·hs)
        (Tensor Output, Tensor Grad) Run(bool wide)
        {
            CausalAttentionKernel.Wide = wide;
            var x = qkv.clone().requires_grad_();
            var y = CausalAttentionFunction.apply(x, cos, sin, heads, kvHeads, hs);
            y.backward([g]);
            return (y.detach(), x.grad!.clone());
        }

        // When run on 16-float vectors and on 8-float ones
        try
        {
            var (wideOut, wideGrad) = Run(wide: true);
            var (narrowOut, narrowGrad) = Run(wide: false);

            // Then output and gradient are identical
            Assert.True(wideOut.eq(narrowOut).all().item<bool>(), "outputs differ");
            Assert.True(wideGrad.eq(narrowGrad).all().item<bool>(), "gradients differ");
        }
        finally
        {
            CausalAttentionKernel.Wide = System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated;
        }
    }

    [Theory]
    [InlineData(352)]    // the default's intermediate size: 22 sixteen-float vectors
    [InlineData(45)]     // two 16-float vectors, one 8-float vector, five single elements
    public void The_gating_node_backward_on_sixteen_float_vectors_gives_the_same_gradients_bit_for_bit(int width)
    {
        if (!System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated) return;           // the wide loop runs only with AVX-512
        // Given gate and up rows (with large gates, where σ saturates) and an output gradient
        torch.manual_seed(width);
        using var scope = NewDisposeScope();
        var gate = randn(3, 70, width) * 4;
        var up = randn(3, 70, width);
        var g = randn(3, 70, width);
        (Tensor Gate, Tensor Up) Run(bool wide)
        {
            SiluGateFunction.Wide = wide;
            var (x, u) = (gate.clone().requires_grad_(), up.clone().requires_grad_());
            SiluGateFunction.apply(x, u).backward([g]);
            return (x.grad!.clone(), u.grad!.clone());
        }

        // When its backward runs on 16-float vectors and on 8-float ones
        try
        {
            var (wideGate, wideUp) = Run(wide: true);
            var (narrowGate, narrowUp) = Run(wide: false);

            // Then both gradients are identical, and they are silu(gate)·up's
            Assert.True(wideGate.eq(narrowGate).all().item<bool>() && wideUp.eq(narrowUp).all().item<bool>(), "gradients differ");
            var (x, u) = (gate.clone().requires_grad_(), up.clone().requires_grad_());
            (nn.functional.silu(x) * u).backward([g]);
            Assert.True(TinyModels.MaxAbsDiff(x.grad!, wideGate) < 1e-4f && TinyModels.MaxAbsDiff(u.grad!, wideUp) < 1e-4f);
        }
        finally
        {
            SiluGateFunction.Wide = System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated;
        }
    }
}
