using Ponder.Policy;
using static TorchSharp.torch;
using TorchGenerator = TorchSharp.torch.Generator;

namespace Ponder.Tests.Policy;

public sealed class SamplerTests
{
    private static Tensor RandomLogits(int rows, int vocab, long seed)
    {
        using var g = new TorchGenerator((ulong)seed);
        return randn([rows, vocab], generator: g) * 2;
    }

    private static long[] Sample(Tensor logits, SamplingOptions options)
    {
        return Sampler.Sample(logits, options, new UniformDraws((ulong)options.Seed)).Tokens.data<long>().ToArray();
    }

    [Fact]
    public void Temperature_zero_is_argmax_with_model_log_probs()
    {
        using var scope = NewDisposeScope();
        var logits = RandomLogits(8, 30, 1);

        var result = Sampler.Sample(logits, new SamplingOptions { Temperature = 0 }, null);

        Assert.Equal(logits.argmax(-1).data<long>().ToArray(), result.Tokens.data<long>().ToArray());
        var expected = logits.log_softmax(-1).max(-1).values;
        Assert.True(TinyModels.MaxAbsDiff(expected, result.LogProbs) < 1e-6f);
        Assert.Equal(0f, result.SamplingLogProbs.abs().sum().item<float>());
    }

    [Theory]
    [InlineData(1e-39, 0, 1.0)]     // a float32 denormal: dividing by it overflows every logit
    [InlineData(1e-6, 0, 1.0)]
    [InlineData(1e-6, 5, 1.0)]      // top-k: the libtorch path
    [InlineData(1e-6, 0, 0.9)]      // top-p: the libtorch path
    public void Temperatures_below_vllms_epsilon_pick_greedily(double temperature, int topK, double topP)
    {
        // Given logits and a temperature so small that logits / temperature overflow
        using var scope = NewDisposeScope();
        var logits = RandomLogits(8, 30, 4);
        Assert.True(SamplingOptions.Greedy(temperature));

        // When rows are sampled at it, alone and each their own way
        var alone = Sampler.Sample(logits, new SamplingOptions { Temperature = temperature, TopK = topK, TopP = topP }, new UniformDraws(3));
        var rows = Sampler.SampleRows(logits, [.. Enumerable.Range(0, 8).Select(_ => new RowSampling(temperature, topK, topP, null))]);

        // Then they are the argmax, with finite model log-probabilities
        var argmax = logits.argmax(-1).data<long>().ToArray();
        Assert.Equal(argmax, alone.Tokens.data<long>().ToArray());
        Assert.Equal(argmax, rows.Tokens);
        Assert.All(alone.LogProbs.data<float>().ToArray(), p => Assert.True(float.IsFinite(p)));
        Assert.All(rows.LogProbs, p => Assert.True(float.IsFinite(p)));
    }

    [Fact]
    public void Top_k_of_one_equals_greedy()
    {
        using var scope = NewDisposeScope();
        var logits = RandomLogits(16, 50, 2);

        var sampled = Sample(logits, new SamplingOptions { Temperature = 1.3, TopK = 1, Seed = 5 });

        Assert.Equal(logits.argmax(-1).data<long>().ToArray(), sampled);
    }

    [Fact]
    public void Top_k_keeps_exactly_the_k_largest_logits()
    {
        using var scope = NewDisposeScope();
        var logits = RandomLogits(4, 20, 3);

        var (kept, ids) = Sampler.Candidates(logits, topK: 3, topP: 1.0);

        Assert.Equal([4L, 3L], kept.shape);
        Assert.True(kept.isfinite().all().item<bool>());
        var expected = logits.topk(3, dim: -1).indexes.sort(-1).Values;
        Assert.Equal(expected.data<long>().ToArray(), ids!.sort(-1).Values.data<long>().ToArray());
        Assert.True(TinyModels.MaxAbsDiff(kept, logits.gather(-1, ids)) == 0);
    }

    [Theory]
    [InlineData(0.4, new long[] { 1 })]
    [InlineData(0.75, new long[] { 1, 3 })]
    [InlineData(0.81, new long[] { 0, 1, 3 })]
    [InlineData(1.0, new long[] { 0, 1, 2, 3 })]
    public void Top_p_keeps_the_smallest_set_reaching_the_mass(double p, long[] expected)
    {
        // Given probabilities 0.15, 0.5, 0.05, 0.3 (shuffled so that sorting matters)
        using var scope = NewDisposeScope();
        var probs = tensor(new float[] { 0.15f, 0.5f, 0.05f, 0.3f }).unsqueeze(0);

        // When keeping the nucleus of mass p
        var (kept, ids) = Sampler.Candidates(probs.log(), topK: 0, topP: p);

        // Then exactly the expected token ids have finite logits
        var finite = kept[0].isfinite().data<bool>().ToArray();
        var keptIds = ids is null
            ? Enumerable.Range(0, 4).Where(i => finite[i]).Select(i => (long)i)
            : ids[0].data<long>().ToArray().Where((_, i) => finite[i]);
        Assert.Equal(expected, keptIds.Order().ToArray());
    }

    [Fact]
    public void Sampling_log_probs_are_under_the_filtered_distribution_and_log_probs_under_the_model()
    {
        using var scope = NewDisposeScope();
        var logits = tensor(new float[] { 0.5f, 0.3f, 0.15f, 0.05f }).log().unsqueeze(0).expand(64, 4).contiguous();
        var result = Sampler.Sample(logits, new SamplingOptions { TopP = 0.75 }, new UniformDraws(3));

        var tokens = result.Tokens.data<long>().ToArray();
        Assert.All(tokens, t => Assert.True(t is 0 or 1));
        Assert.Contains(0L, tokens);
        Assert.Contains(1L, tokens);
        var sampling = result.SamplingLogProbs.data<float>().ToArray();
        var model = result.LogProbs.data<float>().ToArray();
        for (var i = 0; i < tokens.Length; i++)
        {
            var p = tokens[i] == 0 ? 0.5 : 0.3;
            Assert.Equal(Math.Log(p / 0.8), sampling[i], 5);
            Assert.Equal(Math.Log(p), model[i], 5);
        }
    }

    [Fact]
    public void Gumbel_max_frequencies_match_softmax_probabilities()
    {
        // Given one row of logits over 5 tokens, repeated 40 000 times, at temperature 0.7
        const int n = 40_000;
        using var scope = NewDisposeScope();
        var row = tensor(new float[] { 1.0f, 0.2f, -0.5f, 0.8f, -2.0f });
        var logits = row.unsqueeze(0).expand(n, 5).contiguous();

        var tokens = Sample(logits, new SamplingOptions { Temperature = 0.7, Seed = 11 });

        // Then each token's frequency is within 4.5 standard errors of softmax(logits / 0.7)
        var probs = (row / 0.7).softmax(0).data<float>().ToArray();
        for (var v = 0; v < 5; v++)
        {
            var frequency = tokens.Count(t => t == v) / (double)n;
            var standardError = Math.Sqrt(probs[v] * (1 - probs[v]) / n);
            Assert.InRange(frequency, probs[v] - 4.5 * standardError, probs[v] + 4.5 * standardError);
        }
    }

    [Fact]
    public void Same_seed_same_tokens_and_different_seeds_differ()
    {
        using var scope = NewDisposeScope();
        var logits = RandomLogits(32, 40, 4) * 0.1;

        var a = Sample(logits, new SamplingOptions { Seed = 1 });
        var b = Sample(logits, new SamplingOptions { Seed = 1 });
        var c = Sample(logits, new SamplingOptions { Seed = 2 });

        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }
    [Theory]
    [InlineData(0.0, 0)]
    [InlineData(1.0, 0)]
    [InlineData(0.7, 0)]
    [InlineData(1.3, 300)]   // top-k of the whole vocabulary filters nothing
    public void The_csharp_rows_sampler_picks_libtorchs_tokens_with_its_log_probs(double temperature, int topK)
    {
        // Given float32 CPU logits of 64 rows (a vocabulary that is not a multiple of the vector width) and options
        // that filter nothing
        using var scope = NewDisposeScope();
        var logits = RandomLogits(64, 300, 7) * 3;
        logits[5, 17] = float.NegativeInfinity;                                          // a token that can never be picked
        var options = new SamplingOptions { Temperature = temperature, TopK = topK, Seed = 11 };
        Assert.True(RowsSampler.Applies(logits, options));
        Assert.False(RowsSampler.Applies(logits, options with { TopK = 5 }));
        Assert.False(RowsSampler.Applies(logits, options with { TopP = 0.9 }));
        Assert.False(RowsSampler.Applies(logits.to(ScalarType.Float64), options));

        // When sampled in C# and in libtorch's ops, each from draws of the same seed
        var calls = RowsSampler.Calls;
        SampledTokens Run(bool csharp) =>
            csharp ? Sampler.Sample(logits, options, new UniformDraws(11)) : Sampler.WithTorch(logits, options, new UniformDraws(11));
        var ours = Run(csharp: true);
        var theirs = Run(csharp: false);

        // Then the C# path ran, picked the same tokens, and both log-probabilities agree
        Assert.Equal(calls + 64, RowsSampler.Calls);
        Assert.Equal(theirs.Tokens.data<long>().ToArray(), ours.Tokens.data<long>().ToArray());
        Assert.True(TinyModels.MaxAbsDiff(theirs.LogProbs, ours.LogProbs) < 1e-5f);
        Assert.True(TinyModels.MaxAbsDiff(theirs.SamplingLogProbs, ours.SamplingLogProbs) < 1e-5f);
        Assert.Equal(ScalarType.Int64, ours.Tokens.dtype);
        Assert.Equal(ScalarType.Float32, ours.LogProbs.dtype);
    }

    [Fact]
    public void The_csharp_rows_sampler_breaks_ties_and_meets_nans_as_libtorchs_argmax()
    {
        // Given greedy rows whose largest logit appears twice, after a zero of each sign, or with NaNs (first, last, later than the largest)
        using var scope = NewDisposeScope();
        var logits = RandomLogits(6, 40, 3);                                             // (6, 40)
        (logits[0, 7], logits[0, 33]) = (9f, 9f);
        (logits[1, 39], logits[1, 2]) = (9f, 9f);
        logits[2] = zeros(40);
        (logits[2, 4], logits[2, 20]) = (-0f, 0f);
        logits[3, 0] = float.NaN;
        logits[4, 39] = float.NaN;
        (logits[5, 30], logits[5, 35], logits[5, 12]) = (float.NaN, float.NaN, 50f);
        var options = new SamplingOptions { Temperature = 0 };

        // When sampled in C# and with libtorch's argmax
        var ours = Sampler.Sample(logits, options, null).Tokens.data<long>().ToArray();
        var theirs = Sampler.WithTorch(logits, options, null).Tokens.data<long>().ToArray();

        // Then both pick the first of the largest, or the first NaN
        Assert.Equal(theirs, ours);
        Assert.Equal([7L, 2L, 0L, 0L, 39L, 30L], ours);
    }

    [Fact]
    public void Rows_sampled_each_their_own_way_pick_what_each_picks_alone_from_its_own_stream()
    {
        // Given five rows: plain sampling at two temperatures, greedy, top-k and top-p, each with its own stream
        using var scope = NewDisposeScope();
        var logits = RandomLogits(5, 40, 7);
        SamplingOptions[] options = [new() { Temperature = 1 }, new() { Temperature = 0.6 }, new() { Temperature = 0 },
            new() { Temperature = 1, TopK = 5 }, new() { Temperature = 0.8, TopP = 0.7 }];
        var rows = options.Select((o, r) => new RowSampling(o.Temperature, o.TopK, o.TopP, o.Temperature == 0 ? null : new UniformDraws((ulong)(100 + r)))).ToArray();

        // When they are sampled in one call, and then with a row left out
        var (tokens, logProbs) = Sampler.SampleRows(logits, rows);
        var others = options.Select((o, r) => new RowSampling(o.Temperature, o.TopK, o.TopP, o.Temperature == 0 ? null : new UniformDraws((ulong)(100 + r)))).ToArray();
        var (without, _) = Sampler.SampleRows(logits, [others[0], null, others[2], others[3], others[4]]);

        // Then each row is what the one-batch sampler picks for that row alone with the same stream, with its model log-probability
        for (var r = 0; r < 5; r++)
        {
            var alone = Sampler.Sample(logits.narrow(0, r, 1).contiguous(), options[r], new UniformDraws((ulong)(100 + r)));
            Assert.Equal(alone.Tokens.item<long>(), tokens[r]);
            Assert.Equal(alone.LogProbs.item<float>(), logProbs[r], 5);
            if (r != 1) Assert.Equal(tokens[r], without[r]);
        }
        Assert.Equal(0, without[1]);
        // and sampling at a temperature needs a stream
        Assert.Throws<ArgumentException>(() => Sampler.SampleRows(logits.narrow(0, 0, 1), [new RowSampling(1, 0, 1, null)]));
    }

    [Fact]
    public void Top_log_probs_are_the_k_largest_of_log_softmax_most_likely_first()
    {
        using var scope = NewDisposeScope();
        var logits = RandomLogits(3, 50, 9);
        var (values, indices) = logits.log_softmax(-1).topk(5, dim: -1);

        for (var row = 0; row < 3; row++)
        {
            var top = Sampler.TopLogProbs(logits, row, 5);
            Assert.Equal(indices[row].data<long>().ToArray(), top.Select(t => (long)t.Token));
            Assert.True(TinyModels.MaxAbsDiff(values[row], tensor(top.Select(t => t.LogProb).ToArray())) < 1e-5f);
        }
        Assert.Equal(50, Sampler.TopLogProbs(logits, 0, 80).Length);                      // at most the vocabulary
        Assert.Empty(Sampler.TopLogProbs(logits, 0, 0));
    }
}
