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

    [Theory]
    [InlineData(8, 24, 12, true, false)]    // a width of 8-float vectors only
    [InlineData(9, 64, 13, false, true)]    // 16-float vectors where the CPU has them; a row and an output past the tiles
    [InlineData(5, 352, 20, true, true)]    // the default model's down projection width
    [InlineData(6, 40, 8, false, false)]    // a multiple of 8 and not of 16: the 8-float tiles
    public unsafe void Tiled_linear_matches_libtorch_on_both_vector_widths(int rows, int inFeatures, int outFeatures, bool withBias, bool accumulate)
    {
        // Given a weight, an optional bias, rows of input and outputs that may already hold a residual
        torch.manual_seed(inFeatures);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var weight = randn(outFeatures, inFeatures);                                   // (Out, In)
        var bias = withBias ? randn(outFeatures) : null;                               // (Out)
        var x = randn(rows, inFeatures);                                               // (rows, In)
        var residual = randn(rows, outFeatures);                                       // (rows, Out)
        var y = residual.clone();

        // When the tiled kernel computes them (16-float tiles exactly when the width is a multiple of 16 and the CPU has them)
        Assert.Equal(System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated && inFeatures % 16 == 0, TiledLinear.Wide(inFeatures));
        fixed (byte* xp = x.bytes, wp = weight.bytes, yp = y.bytes)
        fixed (byte* bp = bias is null ? null : bias.bytes)
            TiledLinear.Compute((float*)xp, rows, (float*)wp, (float*)bp, (float*)yp, outFeatures, inFeatures, accumulate, threads: 1);

        // Then they are libtorch's results, added to the residual when accumulating
        var expected = F.linear(x, weight, bias) + (accumulate ? residual : zeros_like(residual));
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
    public void A_cached_append_of_any_size_runs_whole_in_csharp_and_the_head_on_the_small_row_or_tiled_kernel()
    {
        // Given a tiny model with the kernels on (the default)
        torch.manual_seed(4);
        using var model = new Transformer(TinyModels.Config(50));
        model.eval();
        using var scope = NewDisposeScope();
        using var mode = inference_mode();
        (long Fused, long SmallRow, long Tiled) Calls(int batch, int tokens)
        {
            using var cache = model.NewCache(batch, capacity: 8);
            model.Forward(zeros(batch, 3, ScalarType.Int64), cache);
            var (fused, smallRow, tiled) = (FusedAppend.Calls, SmallRowLinear.Calls, TiledLinear.Calls);
            model.Forward(zeros(batch, tokens, ScalarType.Int64), cache);
            return (FusedAppend.Calls - fused, SmallRowLinear.Calls - smallRow, TiledLinear.Calls - tiled);
        }

        // Then every append runs whole in the fused C# pass, a decode step or a prefill, and the head's rows (all the
        // appended tokens here) run on the small-row kernel up to four and on the tiled kernel above
        Assert.Equal((1L, 1L, 0L), Calls(1, 1));
        Assert.Equal((1L, 1L, 0L), Calls(2, 2));
        Assert.Equal((1L, 0L, 1L), Calls(5, 1));
        Assert.Equal((1L, 0L, 1L), Calls(3, 4));

        // And with the kernels off, none of them runs
        model.SmallRowKernels = false;
        Assert.Equal((0L, 0L, 0L), Calls(5, 1));
    }

    [Theory]
    [InlineData(3, false)]    // four rows or fewer: the head on the small-row kernel, after the pass
    [InlineData(5, false)]    // one tile and a tail row
    [InlineData(20, false)]   // two threads' chunks of twelve and eight rows (ten each, moved to whole four-row tiles)
    [InlineData(64, false)]
    [InlineData(64, true)]    // a padding row: the head after the pass
    public void A_decode_steps_logits_with_the_head_in_the_pass_are_the_heads_on_its_hidden_states_bit_for_bit(int batch, bool padding)
    {
        // Given a tiny model (an untied head), prompts prefilled into two caches, and one decode token a row
        torch.manual_seed(31);
        using var model = new Transformer(TinyModels.Config(50) with { HiddenSize = 64 });
        model.eval();
        using var scope = NewDisposeScope();
        using var mode = inference_mode();
        var saved = get_num_threads();
        set_num_threads(2);
        try
        {
            var prompt = tensor(TinyModels.RandomTokens(batch * 4, 50, seed: batch).Select(t => (long)t).ToArray()).view(batch, 4);
            var step = tensor(TinyModels.RandomTokens(batch, 50, seed: batch + 1).Select(t => (long)t).ToArray()).view(batch, 1);
            var valid = padding ? ones(batch, 1, ScalarType.Bool).index_put_(tensor(false), tensor(3L)) : null;   // (B, 1)
            using var first = model.NewCache(batch, capacity: 6);
            using var second = model.NewCache(batch, capacity: 6);
            model.Hidden(prompt, first);
            model.Hidden(prompt, second);

            // When the step's logits come from the head in the pass, and from the head applied to its hidden states
            var tiled = TiledLinear.Calls;
            var inPass = model.StepLogits(step, first, valid);                                      // (B, V)
            var headAfter = TiledLinear.Calls - tiled;
            var expected = model.Logits(model.Hidden(step, second, valid).select(1, 0));            // (B, V)

            // Then they are identical, and the head ran in the pass (not as a call of its own) from five rows on, with no padding
            Assert.Equal(0f, (inPass - expected).abs().max().item<float>());
            Assert.Equal(batch > SmallRowLinear.MaxRows && padding ? 1L : 0L, headAfter);

            // and the same step with each thread taking one fixed share (64 rows: 32 each, against four claimed chunks of 16) is the same too
            using var third = model.NewCache(batch, capacity: 6);
            model.Hidden(prompt, third);
            FusedAppend.ClaimedChunks = false;
            try
            {
                Assert.Equal(0f, (model.StepLogits(step, third, valid) - expected).abs().max().item<float>());
            }
            finally
            {
                FusedAppend.ClaimedChunks = true;
            }
        }
        finally
        {
            set_num_threads(saved);
        }
    }

    [Fact]
    public void Kv_cache_decode_with_the_kernel_matches_libtorch_and_the_full_forward()
    {
        // Given a GQA model with q/k/v biases, two prompts and greedy one-token decode steps on a KV cache
        torch.manual_seed(9);
        using var model = new Transformer(TinyModels.Config(50) with { AttentionBias = true });
        model.KvCacheType = ScalarType.Float32;   // exact keys and values: this test compares the cached arithmetic
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
        model.KvCacheType = ScalarType.Float32;   // exact keys and values: this test compares the cached arithmetic
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

    [Fact]
    public void A_decode_step_of_a_large_batch_runs_fused_in_csharp_on_any_thread_count_and_matches_libtorch()
    {
        // Given a GQA model, 24 prompts of different lengths (left padding) and greedy one-token decode steps
        torch.manual_seed(15);
        using var model = new Transformer(TinyModels.Config(50));
        model.KvCacheType = ScalarType.Float32;   // exact keys and values: this test compares the cached arithmetic
        model.eval();
        using var scope = NewDisposeScope();
        using var mode = inference_mode();
        var prompt = tensor(TinyModels.RandomTokens(24 * 6, 50, seed: 16).Select(t => (long)t).ToArray()).view(24, 6);
        var valid = arange(6).unsqueeze(0).ge(arange(24).remainder(4).unsqueeze(1));           // (24, 6): row r pads r mod 4 slots
        long fused = 0;
        Tensor Decode(bool kernels, int threads = 0, bool claimed = true)
        {
            (model.SmallRowKernels, FusedAppend.ClaimedChunks) = (kernels, claimed);
            var saved = get_num_threads();
            if (threads > 0) set_num_threads(threads);
            try
            {
                using var cache = model.NewCache(batch: 24, capacity: 8);
                var steps = new List<Tensor> { model.Forward(prompt, cache, valid) };
                long before = FusedAppend.Calls;
                for (var i = 0; i < 6; i++)
                    steps.Add(model.Forward(steps[^1].select(1, -1).argmax(-1, keepdim: true), cache));
                if (kernels) fused = FusedAppend.Calls - before;
                return cat(steps, 1);                                                      // (24, 12, V)
            }
            finally
            {
                FusedAppend.ClaimedChunks = true;
                set_num_threads(saved);
            }
        }

        // When decoding with the kernels on (24 rows: the fused C# step) on one thread, on three claiming chunks of
        // rows, on three with one fixed share each, and off
        var withKernel = Decode(kernels: true, threads: 1);
        var split = Decode(kernels: true, threads: 3);
        var shares = Decode(kernels: true, threads: 3, claimed: false);
        var withTorch = Decode(kernels: false);

        // Then every decode step ran fused, neither split of the rows over threads changed a bit, and the logits agree with libtorch's
        Assert.Equal(6, fused);
        Assert.True(withKernel.eq(split).all().item<bool>());
        Assert.True(withKernel.eq(shares).all().item<bool>());
        Assert.True(RelativeDiff(withKernel, withTorch) < Relative, $"relative diff {RelativeDiff(withKernel, withTorch)}");
    }

    [Fact]
    public void Rows_whose_new_slots_are_all_padding_are_skipped_and_the_others_match_libtorch()
    {
        // Given 20 prompts, then decode steps in which some rows feed padding only (finished rows a generator still
        // carries), and one step of two tokens in which a row feeds one real token and one padding slot
        torch.manual_seed(23);
        using var model = new Transformer(TinyModels.Config(50));
        model.KvCacheType = ScalarType.Float32;   // exact keys and values: this test compares the cached arithmetic
        model.eval();
        using var scope = NewDisposeScope();
        using var mode = inference_mode();
        var prompt = tensor(TinyModels.RandomTokens(20 * 4, 50, seed: 24).Select(t => (long)t).ToArray()).view(20, 4);
        var fed = arange(20).remainder(3).ne(0).unsqueeze(1);                              // (20, 1): rows 0, 3, 6, … feed padding
        var pair = stack([ones(20, ScalarType.Bool), arange(20).remainder(2).eq(0)], 1);    // (20, 2)
        (Tensor Logits, Tensor Hidden) Run(bool kernels)
        {
            model.SmallRowKernels = kernels;
            using var cache = model.NewCache(batch: 20, capacity: 8);
            var steps = new List<Tensor> { model.Forward(prompt, cache) };
            Tensor hidden = null!;
            for (var i = 0; i < 2; i++)
            {
                var next = steps[^1].select(1, -1).argmax(-1, keepdim: true);               // (20, 1)
                hidden = model.Hidden(next, cache, fed);                                    // (20, 1, C)
                steps.Add(model.Logits(hidden));
            }
            steps.Add(model.Forward(steps[^1].select(1, -1).argmax(-1, keepdim: true).repeat(1, 2), cache, pair));
            return (cat(steps, 1), hidden);                                                 // (20, 8, V), (20, 1, C)
        }

        // When run with the fused pass and with libtorch's ops
        var (withKernel, hidden) = Run(kernels: true);
        var (withTorch, _) = Run(kernels: false);

        // Then the rows that fed real tokens agree everywhere (the padding slots' keys were never attended), and a
        // skipped row's hidden state is zeros
        var real = fed.squeeze(1);
        Assert.True(RelativeDiff(withKernel[real], withTorch[real]) < Relative, $"relative diff {RelativeDiff(withKernel[real], withTorch[real])}");
        Assert.Equal(0f, hidden[real.logical_not()].abs().max().item<float>());
        Assert.True(hidden[real].abs().max().item<float>() > 0);
    }

    [Fact]
    public void A_batch_one_step_of_a_wide_model_splits_its_large_linears_over_threads_without_changing_a_bit()
    {
        // Given a model whose gate/up weight (1024 × 256) is large enough to split, and one prompt of three tokens (so
        // that its prefill runs on the small-row kernels too, whose split changes no bit either; libtorch's may)
        torch.manual_seed(21);
        using var model = new Transformer(TinyModels.Config(50) with { HiddenSize = 256, IntermediateSize = 512, NumLayers = 1 });
        model.KvCacheType = ScalarType.Float32;   // exact keys and values: this test compares the cached arithmetic
        Assert.True(2L * 512 * 256 >= SmallRowLinear.SplitElements);
        model.eval();
        using var scope = NewDisposeScope();
        using var mode = inference_mode();
        var prompt = tensor(TinyModels.RandomTokens(3, 50, seed: 22).Select(t => (long)t).ToArray()).view(1, 3);
        Tensor Decode(bool kernels, int threads)
        {
            model.SmallRowKernels = kernels;
            var saved = get_num_threads();
            set_num_threads(threads);
            try
            {
                using var cache = model.NewCache(batch: 1, capacity: 8);
                var steps = new List<Tensor> { model.Forward(prompt, cache) };
                for (var i = 0; i < 3; i++)
                    steps.Add(model.Forward(steps[^1].select(1, -1).argmax(-1, keepdim: true), cache));
                return cat(steps, 1);                                                      // (1, 6, V)
            }
            finally
            {
                set_num_threads(saved);
            }
        }

        // When decoding in the fused step on one thread and on two (its large linears' outputs split), and on libtorch
        var one = Decode(kernels: true, threads: 1);
        var two = Decode(kernels: true, threads: 2);
        var withTorch = Decode(kernels: false, threads: 1);

        // Then the split changes no bit, and the logits agree with libtorch's
        Assert.True(one.eq(two).all().item<bool>());
        Assert.True(RelativeDiff(one, withTorch) < Relative, $"relative diff {RelativeDiff(one, withTorch)}");
    }

    [Theory]
    [InlineData(8, false, 5)]    // head size below 32: the general loops
    [InlineData(32, false, 5)]   // a multiple of 32: the register-accumulator loop
    [InlineData(8, true, 5)]     // the same with a bfloat16 cache
    [InlineData(32, true, 5)]    // a bfloat16 cache and heads of 32: keys and values read sixteen at a time as pairs
    [InlineData(32, false, 12)]  // 13 columns: eight at a time, then one by one (and an odd one after the pairs of values)
    [InlineData(32, true, 12)]
    [InlineData(8, false, 12)]
    [InlineData(32, false, 20)]  // 21 columns: two blocks of eight
    public void Cached_attention_matches_softmax_attention_and_its_thread_split_changes_nothing(int headDim, bool bf16, int start)
    {
        // Given a decode step's q/k/v for 7 rows of a GQA layer, a cache with `start` columns already written, a mask with holes
        torch.manual_seed(17);
        using var scope = NewDisposeScope();
        using var mode = inference_mode();
        var (heads, kvHeads, columns) = (4, 2, start + 1);
        var qkv = randn(7, 1, (heads + 2 * kvHeads) * headDim);                            // (B, 1, (nh+2·nkv)·hs)
        var cacheType = bf16 ? ScalarType.BFloat16 : ScalarType.Float32;
        var keys = randn(7, kvHeads, columns + 2, headDim).to(cacheType);                             // (B, nkv, cap, hs)
        var values = randn(7, kvHeads, columns + 2, headDim).to(cacheType);
        var oneRow = zeros(7, 1, 1, columns).masked_fill_(rand(7, 1, 1, columns).lt(0.3), double.NegativeInfinity); // (B, 1, 1, S)
        oneRow.narrow(3, start, 1).zero_();                                                      // a row always sees its own slot
        var mask = oneRow.repeat(1, 1, 2, 1);                                                // (B, 1, g·T, S): one copy per query group
        var (keys2, values2) = (keys.clone(), values.clone());

        // When attended on one thread and split over three
        var one = SmallRowOps.CachedAttention(qkv, heads, kvHeads, headDim, keys, values, start, mask, threads: 1);
        var three = SmallRowOps.CachedAttention(qkv, heads, kvHeads, headDim, keys2, values2, start, mask, threads: 3);

        // Then outputs and the written caches are identical, bit for bit
        Assert.True(one.eq(three).all().item<bool>());
        Assert.True(keys.eq(keys2).all().item<bool>() && values.eq(values2).all().item<bool>());

        // And the output is softmax(q·kᵀ/√hs + mask)·v over the cached columns, query head h reading kv head h / 2
        var split = qkv.view(7, heads + 2 * kvHeads, headDim);
        var q = split.narrow(1, 0, heads).unsqueeze(2);                                     // (B, nh, 1, hs)
        // (the new key and value written as libtorch would round them to the cache's type)
        Assert.True(split.narrow(1, heads, kvHeads).to(cacheType).eq(keys.select(2, start)).all().item<bool>());
        Assert.True(split.narrow(1, heads + kvHeads, kvHeads).to(cacheType).eq(values.select(2, start)).all().item<bool>());
        var k = keys.narrow(2, 0, columns).to(ScalarType.Float32).repeat_interleave(2, 1);        // (B, nh, S, hs)
        var v = values.narrow(2, 0, columns).to(ScalarType.Float32).repeat_interleave(2, 1);
        var expected = (q.matmul(k.transpose(2, 3)) / Math.Sqrt(headDim) + oneRow).softmax(-1).matmul(v); // (B, nh, 1, hs)
        var actual = one.view(7, heads, 1, headDim);
        Assert.True(RelativeDiff(actual, expected) < Relative, $"relative diff {RelativeDiff(actual, expected)}");
    }

    [Theory]
    [InlineData(32, 21)]   // an odd column count: the last column alone
    [InlineData(64, 8)]
    public unsafe void Bfloat16_values_weighted_sixteen_at_a_time_give_the_eight_at_a_time_sums_bit_for_bit(int headDim, int columns)
    {
        if (!System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated) return;           // the wide loop runs only with AVX-512
        // Given softmax weights over the columns and a block of bfloat16 values (columns, hs)
        torch.manual_seed(headDim + columns);
        using var scope = NewDisposeScope();
        var weights = rand(columns).softmax(0);
        var values = randn(columns, headDim).to(ScalarType.BFloat16);
        var (narrow, wide) = (zeros(headDim), zeros(headDim));

        // When weighted both ways
        fixed (byte* w = weights.bytes, v = values.bytes, a = narrow.bytes, b = wide.bytes)
        {
            SmallRowOps.WeightedBf16Narrow((float*)w, columns, v, 0.7f, (float*)a, headDim);
            SmallRowOps.WeightedBf16Wide((float*)w, columns, v, 0.7f, (float*)b, headDim);
        }

        // Then every output is the same float, and the weighted sum of the values
        Assert.True(narrow.eq(wide).all().item<bool>());
        Assert.True(RelativeDiff(wide, weights.matmul(values.to(ScalarType.Float32)) * 0.7) < Relative);
    }

    [Theory]
    [InlineData(32, 20)]   // 21 columns: two blocks of eight, then five one by one
    [InlineData(64, 7)]    // two 32-element blocks a key; eight columns, one block of eight
    public void Bfloat16_key_scores_on_sixteen_float_vectors_agree_with_the_eight_float_loop_within_rounding(int headDim, int start)
    {
        if (!System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated) return;           // the wide loop runs only with AVX-512
        // Given a decode step of 5 rows over a bfloat16 cache of `start` columns
        torch.manual_seed(headDim + start);
        using var scope = NewDisposeScope();
        using var mode = inference_mode();
        var (heads, columns) = (2, start + 1);
        var qkv = randn(5, 1, 3 * heads * headDim);                                        // (B, 1, 3·nh·hs)
        var keys = randn(5, heads, columns, headDim).to(ScalarType.BFloat16);              // (B, nh, S, hs)
        var values = randn(5, heads, columns, headDim).to(ScalarType.BFloat16);
        var mask = zeros(5, 1, 1, columns);

        // When attended with the 16-float key scores and with the 8-float ones
        Tensor Attend(bool wide)
        {
            var saved = SmallRowOps.WideKeyScores;
            SmallRowOps.WideKeyScores = wide;
            try
            {
                return SmallRowOps.CachedAttention(qkv, heads, heads, headDim, keys.clone(), values.clone(), start, mask, threads: 1);
            }
            finally
            {
                SmallRowOps.WideKeyScores = saved;
            }
        }
        var (wide, narrow) = (Attend(wide: true), Attend(wide: false));

        // Then the outputs agree to float32 rounding (the halves of each dot product are added in another order)
        Assert.True(RelativeDiff(wide, narrow) < 1e-5, $"relative diff {RelativeDiff(wide, narrow)}");
    }

    [Fact]
    public void Keys_and_values_written_to_a_bfloat16_cache_round_as_libtorch_does()
    {
        // Given a decode step whose new keys and values hold rounding ties (odd and even), values just off a tie,
        // infinities, the largest float, denormals, signed zeros and a NaN, in heads of 32 (sixteen at a time) and 8
        using var scope = NewDisposeScope();
        using var mode = inference_mode();
        float Bits(uint bits) => BitConverter.UInt32BitsToSingle(bits);
        float[] special = [Bits(0x3F808000), Bits(0x3F818000), Bits(0x3F808001), Bits(0x3F807FFF), float.PositiveInfinity,
            float.NegativeInfinity, float.MaxValue, -float.MaxValue, Bits(0x00000001), Bits(0x00018000), 0f, -0f, 1f / 3, -2.5e-3f, 65504.3f, float.NaN];
        foreach (var headDim in new[] { 32, 8 })
        {
            var (heads, kvHeads) = (1, 1);
            var row = Enumerable.Range(0, 3 * headDim).Select(i => special[i % special.Length] * (i / special.Length % 2 == 0 ? 1 : -1)).ToArray();
            var qkv = tensor(row).view(1, 1, 3 * headDim);                                                  // (B, 1, (nh+2·nkv)·hs)
            var keys = zeros([1, kvHeads, 2, headDim], ScalarType.BFloat16);                                 // (B, nkv, cap, hs)
            var values = zeros([1, kvHeads, 2, headDim], ScalarType.BFloat16);
            var mask = zeros(1, 1, 1, 1);

            // When the C# attention writes them to the cache
            SmallRowOps.CachedAttention(qkv, heads, kvHeads, headDim, keys, values, 0, mask, threads: 1);

            // Then every element is libtorch's rounding of it, bit for bit, and the NaN stays a NaN
            var written = cat([keys.select(2, 0), values.select(2, 0)], -1).flatten().to(ScalarType.Float32).data<float>().ToArray();
            var expected = tensor(row[headDim..]).to(ScalarType.BFloat16).to(ScalarType.Float32).data<float>().ToArray();
            for (var i = 0; i < written.Length; i++)
                if (float.IsNaN(expected[i])) Assert.True(float.IsNaN(written[i]), $"element {i} of head size {headDim}: {written[i]}");
                else Assert.True(BitConverter.SingleToUInt32Bits(expected[i]) == BitConverter.SingleToUInt32Bits(written[i]),
                    $"element {i} of head size {headDim}: {row[headDim + i]:R} → {written[i]:R}, libtorch {expected[i]:R}");
        }
    }

    [Fact]
    public void A_bfloat16_kv_cache_decodes_alike_on_both_paths_and_close_to_float32()
    {
        // Given a GQA model whose cache stores bfloat16, 24 prompts and greedy one-token decode steps
        torch.manual_seed(19);
        using var model = new Transformer(TinyModels.Config(50) with { HiddenSize = 64 });   // head size 16
        model.eval();
        using var scope = NewDisposeScope();
        using var mode = inference_mode();
        var prompt = tensor(TinyModels.RandomTokens(24 * 5, 50, seed: 20).Select(t => (long)t).ToArray()).view(24, 5);
        Tensor Decode(bool kernels, ScalarType cacheType)
        {
            (model.SmallRowKernels, model.KvCacheType) = (kernels, cacheType);
            using var cache = model.NewCache(batch: 24, capacity: 6);
            Assert.Equal(cacheType, cache.DType);
            var steps = new List<Tensor> { model.Forward(prompt, cache) };
            for (var i = 0; i < 5; i++)
                steps.Add(model.Forward(steps[^1].select(1, -1).argmax(-1, keepdim: true), cache));
            return cat(steps, 1);                                                          // (24, 10, V)
        }

        // When decoding with a bfloat16 cache in C# and with libtorch's ops, and with a float32 cache
        var withKernel = Decode(kernels: true, ScalarType.BFloat16);
        var withTorch = Decode(kernels: false, ScalarType.BFloat16);
        var float32 = Decode(kernels: true, ScalarType.Float32);
        model.KvCacheType = null;

        // Then the rounding moves the logits a little from the float32 cache's, not a lot; and the two paths pick the
        // same tokens and differ by far less than that (their keys and values differ in the last float32 bits, so one
        // near a bfloat16 rounding boundary can round the other way: 2⁻⁸ of that element)
        var drift = RelativeDiff(withKernel, float32);
        Assert.True(drift > 0 && drift < 3e-2, $"bfloat16 against float32 cache: relative diff {drift}");
        Assert.True(withKernel.argmax(-1).eq(withTorch.argmax(-1)).all().item<bool>());
        Assert.True(RelativeDiff(withKernel, withTorch) < drift / 4, $"relative diff {RelativeDiff(withKernel, withTorch)} against the drift {drift}");
        Assert.Throws<ArgumentException>(() => model.KvCacheType = ScalarType.Int64);
    }

    [Fact]
    public void The_default_kv_cache_is_bfloat16_only_where_the_csharp_kernels_decode_a_float32_model()
    {
        // Given a float32 model on the CPU with no cache type set
        using var model = TinyModels.Model(50);
        Assert.Null(model.KvCacheType);

        // Then its caches store bfloat16 while the C# kernels decode it, and float32 when libtorch's ops do
        using (var cache = model.NewCache(batch: 2, capacity: 4)) Assert.Equal(ScalarType.BFloat16, cache.DType);
        model.SmallRowKernels = false;
        using (var cache = model.NewCache(batch: 2, capacity: 4)) Assert.Equal(ScalarType.Float32, cache.DType);
        model.SmallRowKernels = true;
        model.FuseProjections = false;
        Assert.Equal(ScalarType.Float32, model.DefaultKvCacheType);
        model.FuseProjections = true;

        // And a type set explicitly wins; a bfloat16 model's cache is its own type
        model.KvCacheType = ScalarType.Float32;
        using (var cache = model.NewCache(batch: 2, capacity: 4)) Assert.Equal(ScalarType.Float32, cache.DType);
        model.KvCacheType = null;
        model.to(ScalarType.BFloat16);
        Assert.Equal(ScalarType.BFloat16, model.DefaultKvCacheType);
    }
}
