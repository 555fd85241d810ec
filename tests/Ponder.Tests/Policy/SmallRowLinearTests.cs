using Ponder.Policy;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Ponder.Tests.Policy;

public sealed class SmallRowLinearTests
{
    // Relative agreement with libtorch's ops: the same products summed in another order.
    internal const double Relative = 1e-5;

    internal static double RelativeDiff(Tensor actual, Tensor expected) =>
        (actual - expected).abs().max().item<float>() / Math.Max(1e-12, expected.abs().max().item<float>());

    [Theory]
    [InlineData(1, 37, 10, false)]   // in not a multiple of 8, out not a multiple of 4
    [InlineData(2, 64, 12, true)]
    [InlineData(3, 5, 3, true)]      // fewer weight rows than one block
    [InlineData(4, 128, 33, false)]
    public void Matches_libtorch_linear_for_up_to_four_rows(int rows, int inFeatures, int outFeatures, bool withBias)
    {
        // Given a weight, an optional bias and an input of a few rows, without gradients
        torch.manual_seed(rows);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var weight = randn(outFeatures, inFeatures);                                   // (Out, In)
        var bias = withBias ? randn(outFeatures) : null;                               // (Out)
        var x = randn(rows, 1, inFeatures);                                            // (rows, 1, In)

        // When the kernel applies and computes it
        Assert.True(SmallRowLinear.Applies(x, weight, bias));
        var y = SmallRowLinear.Forward(x, weight, bias);

        // Then shape and values are libtorch's
        var expected = F.linear(x, weight, bias);
        Assert.Equal(expected.shape, y.shape);
        Assert.True(RelativeDiff(y, expected) < Relative, $"relative diff {RelativeDiff(y, expected)}");
    }

    [Fact]
    public void Reads_views_at_a_storage_offset_and_non_contiguous_inputs()
    {
        // Given a row selected from the middle of a sequence (a view at an offset), a transposed input, and a weight
        // that is a row range of a larger matrix (as the fused q/k/v parts are)
        torch.manual_seed(7);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var hidden = randn(1, 6, 24);                                                  // (1, T, C)
        var row = hidden.select(1, 3);                                                 // (1, C), offset 3·C
        var columns = randn(24, 2).t();                                                // (2, C), not contiguous
        var weight = randn(40, 24).narrow(0, 8, 20);                                   // (20, C), offset 8·C

        // When the kernel computes them
        var fromRow = SmallRowLinear.Forward(row, weight, null);
        var fromColumns = SmallRowLinear.Forward(columns, weight, null);

        // Then they are libtorch's results
        Assert.True(RelativeDiff(fromRow, F.linear(row, weight)) < Relative);
        Assert.True(RelativeDiff(fromColumns, F.linear(columns, weight)) < Relative);
    }

    [Fact]
    public void Splitting_over_threads_gives_the_same_outputs_as_one_thread()
    {
        // Given a weight large enough to be split across threads
        torch.manual_seed(8);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var weight = randn(SmallRowLinear.SplitElements / 256 + 6, 256);                // (Out, 256), Out not a multiple of 4
        var x = randn(2, 256);
        var saved = get_num_threads();
        try
        {
            // When computed with one thread and with three
            set_num_threads(1);
            var one = SmallRowLinear.Forward(x, weight, null);
            set_num_threads(3);
            var three = SmallRowLinear.Forward(x, weight, null);

            // Then the outputs are identical (each output is summed by one thread in a fixed order) and match libtorch
            Assert.Equal(0f, (one - three).abs().max().item<float>());
            Assert.True(RelativeDiff(three, F.linear(x, weight)) < Relative);
        }
        finally
        {
            set_num_threads(saved);
        }
    }

    [Fact]
    public void Does_not_apply_with_gradients_many_rows_other_dtypes_or_strided_weights()
    {
        using var scope = NewDisposeScope();
        var weight = randn(8, 16);
        var x = randn(1, 16);
        Assert.False(SmallRowLinear.Applies(x, weight, null));                            // gradients enabled (training)
        using var noGrad = no_grad();
        Assert.True(SmallRowLinear.Applies(x, weight, null));
        Assert.False(SmallRowLinear.Applies(randn(SmallRowLinear.MaxRows + 1, 16), weight, null));
        Assert.False(SmallRowLinear.Applies(x.to(ScalarType.Float64), weight.to(ScalarType.Float64), null));
        Assert.False(SmallRowLinear.Applies(x, randn(16, 8).t(), null));                   // a transposed weight
        Assert.False(SmallRowLinear.Applies(randn(1, 8), weight, null));                  // wrong input width
    }

    [Fact]
    public void A_decode_step_of_at_most_four_tokens_runs_on_the_kernels_and_a_larger_one_on_libtorch()
    {
        // Given a tiny model with the kernels on (the default) and a prompt in its cache
        torch.manual_seed(4);
        using var model = new Transformer(TinyModels.Config(50));
        model.eval();
        using var scope = NewDisposeScope();
        using var mode = inference_mode();
        long Calls(int batch)
        {
            using var cache = model.NewCache(batch, capacity: 8);
            model.Forward(zeros(batch, 3, ScalarType.Int64), cache);
            long before = SmallRowLinear.Calls;
            model.Forward(zeros(batch, 1, ScalarType.Int64), cache);                       // one decode step: batch tokens
            return SmallRowLinear.Calls - before;
        }

        // Then a step of 1 or 4 rows runs every linear in C# (q/k/v, o, gate/up, down in each layer, and the head),
        // a step of 5 rows none
        Assert.Equal(4 * model.Config.NumLayers + 1, Calls(1));
        Assert.Equal(4 * model.Config.NumLayers + 1, Calls(4));
        Assert.Equal(0, Calls(5));
    }

    [Fact]
    public void Kv_cache_decode_with_the_kernel_matches_libtorch_and_the_full_forward()
    {
        // Given a GQA model with q/k/v biases, two prompts and greedy one-token decode steps on a KV cache
        torch.manual_seed(9);
        using var model = new Transformer(TinyModels.Config(50) with { AttentionBias = true });
        model.eval();
        using var scope = NewDisposeScope();
        using var mode = inference_mode();
        foreach (var (name, p) in model.named_parameters())
            if (name.EndsWith(".bias", StringComparison.Ordinal)) p.normal_(0, 0.5);
        var prompt = tensor(TinyModels.RandomTokens(10, 50, seed: 10).Select(t => (long)t).ToArray()).view(2, 5);
        Tensor Decode(bool kernels)
        {
            model.SmallRowKernels = kernels;
            using var cache = model.NewCache(batch: 2, capacity: 16);
            var steps = new List<Tensor> { model.Forward(prompt, cache) };
            for (var i = 0; i < 8; i++)
                steps.Add(model.Forward(steps[^1].select(1, -1).argmax(-1, keepdim: true), cache));
            return cat(steps, 1);                                                          // (2, 13, V)
        }

        // When decoding with the C# kernels (linears, norms, rotary, gating) and with libtorch's ops
        var withKernel = Decode(kernels: true);
        var withTorch = Decode(kernels: false);

        // Then every step's logits agree within 1e-5 relative, and with the full forward pass over the same tokens
        Assert.True(RelativeDiff(withKernel, withTorch) < Relative, $"relative diff {RelativeDiff(withKernel, withTorch)}");
        var tokens = cat([prompt, withKernel.narrow(1, 4, 8).argmax(-1)], 1);            // (2, 13)
        Assert.True(RelativeDiff(withKernel, model.call(tokens)) < 1e-4);
    }

    [Fact]
    public void Short_full_forward_with_the_kernels_matches_libtorch()
    {
        // Given a model and two sequences of two tokens (four rows: the kernels' limit), without gradients
        torch.manual_seed(11);
        using var model = new Transformer(TinyModels.Config(50));
        model.eval();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var ids = tensor(TinyModels.RandomTokens(4, 50, seed: 12).Select(t => (long)t).ToArray()).view(2, 2);

        // When the full causal forward runs with and without the C# kernels
        model.SmallRowKernels = true;
        var withKernel = model.call(ids);                                                  // (2, 2, V)
        model.SmallRowKernels = false;
        var withTorch = model.call(ids);

        // Then the logits agree
        Assert.True(RelativeDiff(withKernel, withTorch) < Relative, $"relative diff {RelativeDiff(withKernel, withTorch)}");
    }

    [Fact]
    public void Cached_appends_of_two_tokens_with_a_hole_match_libtorch()
    {
        // Given a GQA model, two rows, and appends of 3, then 2 (the second row's first slot padding), then 1 token
        torch.manual_seed(13);
        using var model = new Transformer(TinyModels.Config(50));
        model.eval();
        using var scope = NewDisposeScope();
        using var mode = inference_mode();
        var ids = tensor(TinyModels.RandomTokens(12, 50, seed: 14).Select(t => (long)t).ToArray()).view(2, 6);
        var valid = tensor(new[] { true, true, false, true }).view(2, 2);
        Tensor Run(bool kernels)
        {
            model.SmallRowKernels = kernels;
            using var cache = model.NewCache(batch: 2, capacity: 4);
            var first = model.Forward(ids.narrow(1, 0, 3), cache);                         // (2, 3, V)
            var second = model.Forward(ids.narrow(1, 3, 2), cache, valid);                 // (2, 2, V): four rows, the C# path
            var third = model.Forward(ids.narrow(1, 5, 1), cache);                          // (2, 1, V)
            return cat([first, second, third], 1);                                         // (2, 6, V)
        }

        // When run with the C# kernels (cached attention included) and with libtorch's ops
        var withKernel = Run(kernels: true);
        var withTorch = Run(kernels: false);

        // Then all logits agree, padding slots included
        Assert.True(RelativeDiff(withKernel, withTorch) < Relative, $"relative diff {RelativeDiff(withKernel, withTorch)}");
    }
}
