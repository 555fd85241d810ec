using Ponder.Policy;
using TorchSharp;
using static TorchSharp.torch;

namespace Ponder.Tests.Policy;

public sealed class TransformerTests
{
    // fp32 agreement between the cached path and the full forward pass (different kernels and reduction orders).
    private const float Tolerance = 1e-4f;

    private static readonly TransformerConfig Gqa = new()
    {
        VocabSize = 50, HiddenSize = 32, IntermediateSize = 64, NumLayers = 2, NumHeads = 4, NumKvHeads = 2, MaxPositions = 64,
    };

    private static Dictionary<string, long[]> ExpectedShapes(TransformerConfig c)
    {
        var (v, h, i, kv) = ((long)c.VocabSize, (long)c.HiddenSize, (long)c.IntermediateSize, (long)c.NumKvHeads * c.HeadDim);
        var expected = new Dictionary<string, long[]> { ["model.embed_tokens.weight"] = [v, h], ["model.norm.weight"] = [h] };
        for (var layer = 0; layer < c.NumLayers; layer++)
        {
            var p = $"model.layers.{layer}.";
            expected[p + "self_attn.q_proj.weight"] = [h, h];
            expected[p + "self_attn.k_proj.weight"] = [kv, h];
            expected[p + "self_attn.v_proj.weight"] = [kv, h];
            expected[p + "self_attn.o_proj.weight"] = [h, h];
            expected[p + "mlp.gate_proj.weight"] = [i, h];
            expected[p + "mlp.up_proj.weight"] = [i, h];
            expected[p + "mlp.down_proj.weight"] = [h, i];
            expected[p + "input_layernorm.weight"] = [h];
            expected[p + "post_attention_layernorm.weight"] = [h];
            if (c.AttentionBias)
            {
                expected[p + "self_attn.q_proj.bias"] = [h];
                expected[p + "self_attn.k_proj.bias"] = [kv];
                expected[p + "self_attn.v_proj.bias"] = [kv];
            }
        }
        if (!c.TieWordEmbeddings) expected["lm_head.weight"] = [v, h];
        return expected;
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void Parameter_names_and_shapes_are_hugging_face_llama_names(bool tied, bool attentionBias)
    {
        // Given a GQA config, built on the meta device (no memory, no weights)
        var config = Gqa with { TieWordEmbeddings = tied, AttentionBias = attentionBias };
        using var model = new Transformer(config, META);

        // When listing parameters and the state dict
        var parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.shape);
        var stateKeys = model.state_dict().Keys.OrderBy(k => k, StringComparer.Ordinal);

        // Then names and shapes are exactly transformers' LlamaForCausalLM ones, and nothing else is saved (no rotary tables)
        var expected = ExpectedShapes(config);
        Assert.Equal(expected.Keys.OrderBy(k => k, StringComparer.Ordinal), parameters.Keys.OrderBy(k => k, StringComparer.Ordinal));
        foreach (var (name, shape) in expected) Assert.True(shape.SequenceEqual(parameters[name]), $"{name}: [{string.Join(",", parameters[name])}]");
        Assert.Equal(expected.Keys.OrderBy(k => k, StringComparer.Ordinal), stateKeys);
        Assert.Equal(META.type, model.Device.type);
    }

    [Fact]
    public void Tied_head_multiplies_by_the_embedding_and_counts_it_once()
    {
        torch.manual_seed(1);
        using var model = new Transformer(Gqa with { TieWordEmbeddings = true });
        using var scope = NewDisposeScope();
        var embedding = model.named_parameters().Single(p => p.name == "model.embed_tokens.weight").parameter;
        var hidden = randn(2, 3, Gqa.HiddenSize);

        var logits = model.Logits(hidden);

        Assert.True(TinyModels.MaxAbsDiff(logits, matmul(hidden, embedding.t())) < 1e-6f);
        var untied = new Transformer(Gqa);
        Assert.Equal((long)Gqa.VocabSize * Gqa.HiddenSize, untied.ParameterCount - model.ParameterCount);
        untied.Dispose();
    }

    [Fact]
    public void Parameter_count_and_flops_follow_the_config()
    {
        using var model = new Transformer(Gqa, META);
        var (v, h, i, kv, l) = ((long)Gqa.VocabSize, (long)Gqa.HiddenSize, (long)Gqa.IntermediateSize, (long)Gqa.NumKvHeads * Gqa.HeadDim, (long)Gqa.NumLayers);
        var perLayer = h * h + 2 * kv * h + h * h + 3 * i * h + 2 * h;
        var total = v * h + l * perLayer + h + v * h;

        Assert.Equal(total, model.ParameterCount);
        // 2 × (every weight but the input embedding) + 2 × layers × context × hidden
        Assert.Equal(2.0 * (total - v * h) + 2.0 * l * 100 * h, model.FlopsPerToken(100));
    }

    [Fact]
    public void Initialization_scales_residual_output_projections_by_depth()
    {
        torch.manual_seed(0);
        var config = new TransformerConfig { NumLayers = 4, HiddenSize = 128, IntermediateSize = 352, NumHeads = 4, NumKvHeads = 4 };
        using var model = new Transformer(config);
        var p = model.named_parameters().ToDictionary(x => x.name, x => x.parameter);
        double Std(string name) => p[name].std().item<float>();

        var residual = 0.02 / Math.Sqrt(2 * 4);
        Assert.InRange(Std("model.layers.0.self_attn.q_proj.weight"), 0.019, 0.021);
        Assert.InRange(Std("model.embed_tokens.weight"), 0.019, 0.021);
        Assert.InRange(Std("lm_head.weight"), 0.019, 0.021);
        Assert.InRange(Std("model.layers.3.self_attn.o_proj.weight"), 0.95 * residual, 1.05 * residual);
        Assert.InRange(Std("model.layers.3.mlp.down_proj.weight"), 0.95 * residual, 1.05 * residual);
        Assert.Equal(128f, p["model.layers.2.input_layernorm.weight"].sum().item<float>());
        Assert.Equal(128f, p["model.norm.weight"].sum().item<float>());
    }

    [Fact]
    public void Rotary_pairs_channel_i_with_channel_i_plus_half_as_in_transformers()
    {
        // Given head dim 4 (frequencies 1 and 10000^-1/2) and a vector at position 3
        using var rotary = new Rotary(headDim: 4, maxPositions: 8, theta: 10000);
        using var scope = NewDisposeScope();
        var x = tensor(new float[] { 1, 2, 3, 4 }).view(1, 1, 1, 4);
        var (cos, sin) = rotary.Lookup(tensor(new long[] { 3 }).view(1, 1), ScalarType.Float32);

        // When rotated
        var y = Rotary.Apply(x, cos, sin).flatten().data<float>().ToArray();

        // Then (x0, x2) turn by 3 rad and (x1, x3) by 0.03 rad: the rotate_half convention
        double a = 3, b = 0.03;
        double[] expected = [1 * Math.Cos(a) - 3 * Math.Sin(a), 2 * Math.Cos(b) - 4 * Math.Sin(b), 3 * Math.Cos(a) + 1 * Math.Sin(a), 4 * Math.Cos(b) + 2 * Math.Sin(b)];
        for (var i = 0; i < 4; i++) Assert.Equal(expected[i], y[i], 5);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public void Kv_cache_decode_matches_full_forward(bool attentionBias, bool tied)
    {
        // Given a GQA model (with random q/k/v biases when it has them) and two rows of 12 tokens
        torch.manual_seed(2);
        using var model = new Transformer(TinyModels.Config(50) with { AttentionBias = attentionBias, TieWordEmbeddings = tied });
        model.KvCacheType = ScalarType.Float32;   // exact keys and values: this test compares the cached arithmetic
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        foreach (var (name, p) in model.named_parameters())
            if (name.EndsWith(".bias", StringComparison.Ordinal)) p.normal_(0, 0.5);
        var ids = tensor(TinyModels.RandomTokens(24, 50, seed: 3).Select(t => (long)t).ToArray()).view(2, 12);
        var full = model.call(ids);                                                     // (2, 12, V)

        // When prefilling 5 tokens into a cache that must grow, then decoding one token at a time
        using var cache = model.NewCache(batch: 2, capacity: 4);
        var steps = new List<Tensor> { model.Forward(ids.narrow(1, 0, 5), cache) };
        for (var t = 5; t < 12; t++) steps.Add(model.Forward(ids.narrow(1, t, 1), cache));
        var cached = cat(steps, 1);                                                     // (2, 12, V)

        // Then every position's logits agree within fp32 tolerance
        Assert.True(TinyModels.MaxAbsDiff(full, cached) < Tolerance, $"max diff {TinyModels.MaxAbsDiff(full, cached)}");
        Assert.Equal(12, cache.Length);
        Assert.True(cache.Capacity >= 12);
    }

    [Fact]
    public void Fused_inference_projections_match_separate_ones_and_follow_in_place_updates()
    {
        // Given a GQA model with q/k/v biases and logits without gradients, fused (binds the fused weights) and separate
        torch.manual_seed(4);
        using var model = new Transformer(TinyModels.Config(50) with { AttentionBias = true });
        using var scope = NewDisposeScope();
        foreach (var (name, p) in model.named_parameters())
            if (name.EndsWith(".bias", StringComparison.Ordinal)) using (no_grad()) p.normal_(0, 0.5);
        var ids = tensor(TinyModels.RandomTokens(16, 50, seed: 5).Select(t => (long)t).ToArray()).view(2, 8);
        Tensor Logits(bool fused)
        {
            model.FuseProjections = fused;
            using var noGrad = no_grad();
            return model.call(ids);                                                     // (2, 8, V)
        }
        var before = Logits(true);
        Assert.True(TinyModels.MaxAbsDiff(before, Logits(false)) < Tolerance);

        // When a training step (gradients through the separate projections) and a checkpoint-style copy_ change them in place
        var optimizer = new Ponder.Learning.AdamW(model.named_parameters().Select(p => (p.name, (Tensor)p.parameter)));
        model.call(ids).log_softmax(-1).select(-1, 7).mean().neg().backward();
        optimizer.Update(1e-2);
        var q = model.named_parameters().Single(p => p.name == "model.layers.1.self_attn.q_proj.weight").parameter;
        using (no_grad()) q.copy_(q * 2);

        // Then fused inference sees the new values, and the parameters keep their names and shapes
        var after = Logits(true);
        Assert.True(TinyModels.MaxAbsDiff(after, before) > 1e-2, "the update changed the logits");
        Assert.True(TinyModels.MaxAbsDiff(after, Logits(false)) < Tolerance, $"max diff {TinyModels.MaxAbsDiff(after, Logits(false))}");
        Assert.Equal(new long[] { 32, 32 }, q.shape);
        Assert.Equal(ExpectedShapes(model.Config).Keys.Order(), model.named_parameters().Select(p => p.name).Order());
    }

    [Fact]
    public void Checkpoint_round_trip_after_fused_inference_restores_the_same_logits()
    {
        // Given two models that have both run fused inference (so their parameters live in fused storage)
        using var dir = new TempDirectory();
        using var saved = TinyModels.Model(50, seed: 1);
        using var restored = TinyModels.Model(50, seed: 2);
        using var scope = NewDisposeScope();
        var tokens = TinyModels.RandomTokens(9, 50, 3);
        var expected = TinyModels.FullLogits(saved, tokens);
        var before = TinyModels.FullLogits(restored, tokens);

        // When one is saved and loaded into the other
        Checkpoint.Save(dir.Path, saved.Config, saved, new CharTokenizer(), new CheckpointState { Task = "arith" });
        Checkpoint.LoadWeights(dir.Path, restored);

        // Then the loaded model's fused inference gives the saved model's logits
        Assert.True(TinyModels.MaxAbsDiff(before, expected) > 1e-2, "the models differed before loading");
        Assert.True(TinyModels.MaxAbsDiff(TinyModels.FullLogits(restored, tokens), expected) < 1e-6f);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void An_append_that_fails_leaves_the_cache_as_it_was(bool decodeStep)
    {
        // Given a prompt in the cache
        using var model = TinyModels.Model(50);
        model.KvCacheType = ScalarType.Float32;
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        int[] prompt = TinyModels.RandomTokens(3, 50, 1);
        using var cache = model.NewCache(1, 8);
        model.Forward(tensor(prompt.Select(t => (long)t).ToArray()).view(1, -1), cache);

        // When an append with a token outside the vocabulary fails (one token: the fused decode step; two: libtorch's ops)
        long[] bad = decodeStep ? [99] : [7, 99];
        Assert.ThrowsAny<Exception>(() => model.Forward(tensor(bad).view(1, -1), cache));

        // Then the cache is as it was: its length and position, and the next token's logits those of prompt + token alone
        Assert.Equal(3, cache.Length);
        Assert.Equal(3L, cache.Positions().data<long>()[0]);
        var next = model.Forward(tensor(new long[] { 7 }).view(1, 1), cache);           // (1, 1, V)
        var alone = TinyModels.FullLogits(model, [.. prompt, 7]);                          // (T, V)
        Assert.True(TinyModels.MaxAbsDiff(next[0, 0], alone[^1]) < Tolerance);
    }

    [Fact]
    public void Left_padded_rows_and_holes_match_each_sequence_alone()
    {
        // Given prompts of lengths 3, 7 and 5, left-padded into one batch
        using var model = TinyModels.Model(50);
        model.KvCacheType = ScalarType.Float32;   // exact keys and values: this test compares the cached arithmetic
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        int[][] prompts = [TinyModels.RandomTokens(3, 50, 1), TinyModels.RandomTokens(7, 50, 2), TinyModels.RandomTokens(5, 50, 3)];
        using var cache = model.NewCache(3, 8);
        var prefill = model.Forward(Padded(prompts, 7, left: true, out var valid), cache, valid); // (3, 7, V)

        // When the rows append 2, 0 and 1 more tokens (holes where they append fewer), then one token each
        int[][] more = [TinyModels.RandomTokens(2, 50, 4), [], TinyModels.RandomTokens(1, 50, 5)];
        var appended = model.Forward(Padded(more, 2, left: false, out var validMore), cache, validMore); // (3, 2, V)
        int[][] last = [[7], [8], [9]];
        var final = model.Forward(Padded(last, 1, left: false, out _), cache);       // (3, 1, V)

        // Then each row's logits equal those of its own sequence run alone through the full forward pass
        for (var row = 0; row < 3; row++)
        {
            var sequence = prompts[row].Concat(more[row]).Concat(last[row]).ToArray();
            var alone = TinyModels.FullLogits(model, sequence);                         // (T, V)
            var n = sequence.Length;
            Assert.True(TinyModels.MaxAbsDiff(prefill[row, -1], alone[prompts[row].Length - 1]) < Tolerance);
            if (more[row].Length > 0)
                Assert.True(TinyModels.MaxAbsDiff(appended[row, more[row].Length - 1], alone[n - 2]) < Tolerance);
            Assert.True(TinyModels.MaxAbsDiff(final[row, 0], alone[n - 1]) < Tolerance, $"row {row}");
        }
        Assert.Equal(new long[] { 6, 8, 7 }, cache.Positions().data<long>().ToArray());
    }

    [Fact]
    public void Selected_rows_continue_like_their_source_rows_without_recomputation()
    {
        using var model = TinyModels.Model(50);
        model.KvCacheType = ScalarType.Float32;   // exact keys and values: this test compares the cached arithmetic
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        int[][] prompts = [TinyModels.RandomTokens(4, 50, 6), TinyModels.RandomTokens(6, 50, 7)];
        using var cache = model.NewCache(2, 6);
        model.Forward(Padded(prompts, 6, left: true, out var valid), cache, valid);

        // When selecting rows [1, 1, 0] and feeding a different token to each
        using var forked = cache.Select([1, 1, 0]);
        var logits = model.Forward(tensor(new long[] { 10, 11, 12 }).view(3, 1), forked); // (3, 1, V)

        // Then each equals its source sequence plus the token, and the source cache is untouched
        int[][] expected = [[.. prompts[1], 10], [.. prompts[1], 11], [.. prompts[0], 12]];
        for (var row = 0; row < 3; row++)
            Assert.True(TinyModels.MaxAbsDiff(logits[row, 0], TinyModels.FullLogits(model, expected[row])[-1]) < Tolerance);
        Assert.Equal(6, cache.Length);
        Assert.Equal(7, forked.Length);
        var again = model.Forward(tensor(new long[] { 13, 14 }).view(2, 1), cache);
        Assert.True(TinyModels.MaxAbsDiff(again[0, 0], TinyModels.FullLogits(model, [.. prompts[0], 13])[-1]) < Tolerance);
    }

    [Fact]
    public void Positions_beyond_max_position_embeddings_are_refused()
    {
        using var model = TinyModels.Model(50, maxPositions: 8);
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        using var cache = model.NewCache(1, 8);
        model.Forward(tensor(TinyModels.RandomTokens(8, 50, 1).Select(t => (long)t).ToArray()).view(1, 8), cache);

        Assert.Throws<InvalidOperationException>(() => model.Forward(tensor(new long[] { 5 }).view(1, 1), cache));
        Assert.Throws<ArgumentException>(() => model.call(zeros([1, 9], ScalarType.Int64)));
    }

    [Fact]
    public void Converting_the_model_to_float64_moves_rotary_tables_along()
    {
        using var model = TinyModels.Model(50);
        using var scope = NewDisposeScope();
        var tokens = TinyModels.RandomTokens(10, 50, 9);
        var single = TinyModels.FullLogits(model, tokens);

        model.to(ScalarType.Float64);
        var dbl = TinyModels.FullLogits(model, tokens);

        Assert.Equal(ScalarType.Float64, dbl.dtype);
        Assert.Equal(ScalarType.Float64, model.DType);
        Assert.True(TinyModels.MaxAbsDiff(single.to(ScalarType.Float64), dbl) < Tolerance);
    }

    private static Tensor Padded(int[][] rows, int width, bool left, out Tensor? valid)
    {
        var ids = new long[rows.Length * width];
        var mask = new bool[rows.Length * width];
        for (var r = 0; r < rows.Length; r++)
        {
            var offset = r * width + (left ? width - rows[r].Length : 0);
            for (var i = 0; i < rows[r].Length; i++) (ids[offset + i], mask[offset + i]) = (rows[r][i], true);
        }
        valid = mask.All(m => m) ? null : tensor(mask, [rows.Length, width]);
        return tensor(ids, [rows.Length, width]);
    }
}
