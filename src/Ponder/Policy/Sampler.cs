using TorchSharp;
using static TorchSharp.torch;

namespace Ponder.Policy;

/// <summary>
/// Next-token selection from logits (B, V): temperature, top-k, top-p, then the Gumbel-max trick —
/// argmax(logits/T − log E) with E = −log U ~ Exp(1), U uniform from seeded draws, is an exact sample from
/// softmax(logits/T) and is a few vectorized ops per step (torch.multinomial is far slower for batches on CPU, and
/// libtorch's own exponential_ draws about four times slower than uniform_ there). With top-k the noise is drawn for
/// the k candidates only, which matters for large vocabularies.
/// </summary>
public static class Sampler
{
    /// <summary>
    /// Samples a token a row of <paramref name="logits"/> (B, V). The noise comes from <paramref name="draws"/>, row after
    /// row, or with null from libtorch's default generator of the logits' device (seeded by the caller).
    /// </summary>
    public static SampledTokens Sample(Tensor logits, SamplingOptions options, UniformDraws? draws)
    {
        ArgumentNullException.ThrowIfNull(options);
        return RowsSampler.Applies(logits, options) ? RowsSampler.Sample(logits, options, draws) : WithTorch(logits, options, draws);
    }

    /// <summary>
    /// Samples a token a row of <paramref name="logits"/> (B, V), row b as <paramref name="rows"/>[b] says (its own
    /// temperature, filters and noise stream; null: the row is not sampled, token 0): the token ids and their model
    /// log-probabilities on the host. Rows that share settings are sampled together; each row's draws come from its own
    /// stream only.
    /// </summary>
    public static (long[] Tokens, float[] LogProbs) SampleRows(Tensor logits, IReadOnlyList<RowSampling?> rows)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(rows);
        var (b, vocab) = (logits.size(0), logits.size(1));
        if (rows.Count != b) throw new ArgumentException($"Got sampling settings for {rows.Count} rows of {b}.", nameof(rows));
        for (var r = 0; r < rows.Count; r++)
            if (rows[r] is { Draws: null } row && !SamplingOptions.Greedy(row.Temperature)) throw new ArgumentException($"Row {r} samples at temperature {rows[r]!.Temperature} without a noise stream.", nameof(rows));
        var (tokens, logProbs) = (new long[b], new float[b]);
        using var scope = NewDisposeScope();
        var cpu = RowsSampler.Readable(logits) ? logits : null;
        var sampled = Enumerable.Range(0, rows.Count).Where(r => rows[r] is not null).ToArray();
        var inC = sampled.Where(r => cpu is not null && (SamplingOptions.Greedy(rows[r]!.Temperature) || rows[r]!.Unfiltered(vocab))).ToArray();
        if (inC.Length > 0) RowsSampler.SampleRows(cpu!, inC, rows, tokens, logProbs);
        foreach (var group in sampled.Except(inC).GroupBy(r => (rows[r]!.Temperature, rows[r]!.TopK, rows[r]!.TopP)))
        {
            var members = group.ToArray();
            var index = tensor(members.Select(r => (long)r).ToArray(), device: logits.device);
            var options = new SamplingOptions { Temperature = group.Key.Temperature, TopK = group.Key.TopK, TopP = group.Key.TopP };
            var sample = WithTorch(logits.index_select(0, index), options, null, members.Select(r => rows[r]!.Draws!).ToArray());
            var picked = sample.Tokens.cpu().data<long>().ToArray();
            var picks = sample.LogProbs.cpu().data<float>().ToArray();
            for (var j = 0; j < members.Length; j++) (tokens[members[j]], logProbs[members[j]]) = (picked[j], picks[j]);
        }
        return (tokens, logProbs);
    }

    /// <summary>
    /// The <paramref name="k"/> most likely tokens of row <paramref name="row"/> of <paramref name="logits"/> (B, V)
    /// under the plain model distribution (log_softmax of the raw logits), most likely first, the lower id first among
    /// equals: what OpenAI's <c>top_logprobs</c> returns.
    /// </summary>
    public static unsafe TokenLogProb[] TopLogProbs(Tensor logits, int row, int k)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        ArgumentOutOfRangeException.ThrowIfNegative(row);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(row, logits.size(0));
        var v = (int)logits.size(1);
        k = Math.Min(k, v);
        if (k == 0) return [];
        if (RowsSampler.Readable(logits))
            return Top((float*)SmallRowOps.Address(logits) + (long)row * v, v, k);
        using var scope = NewDisposeScope();
        fixed (float* copy = logits[row].to(ScalarType.Float32).cpu().data<float>().ToArray())
            return Top(copy, v, k);

        // The log-sum-exp is the sampler's own (RowsSampler), so a sampled token among the top ones has the same value.
        static TokenLogProb[] Top(float* row, int v, int k)
        {
            var x = new ReadOnlySpan<float>(row, v);
            var lse = RowsSampler.LogSumExp(row, v, 1f);
            var best = new TokenLogProb[k];
            var count = 0;
            for (var i = 0; i < x.Length; i++)
            {
                if (count == k && !(x[i] - lse > best[k - 1].LogProb)) continue;
                var at = Math.Min(count, k - 1);
                while (at > 0 && x[i] - lse > best[at - 1].LogProb)
                {
                    best[at] = best[at - 1];
                    at--;
                }
                best[at] = new TokenLogProb(i, x[i] - lse);
                count = Math.Min(count + 1, k);
            }
            return best;
        }
    }

    /// <summary>
    /// The same in libtorch's ops, for every device and option (<see cref="RowsSampler"/> takes the unfiltered float32
    /// CPU case); with <paramref name="rowDraws"/>, row b's noise comes from its own stream rowDraws[b].
    /// </summary>
    internal static SampledTokens WithTorch(Tensor logits, SamplingOptions options, UniformDraws? draws, UniformDraws[]? rowDraws = null)
    {
        using var scope = NewDisposeScope();
        var raw = logits.dtype == ScalarType.Float32 ? logits : logits.to(ScalarType.Float32); // (B, V)
        var modelLogProbs = raw.log_softmax(-1);                                        // (B, V)
        Tensor tokens;                                                                   // (B)
        Tensor logProbs;                                                                 // (B)
        Tensor samplingLogProbs;                                                         // (B)
        if (SamplingOptions.Greedy(options.Temperature))
        {
            tokens = raw.argmax(-1);
            logProbs = Pick(modelLogProbs, tokens);
            samplingLogProbs = zeros([raw.shape[0]], ScalarType.Float32, raw.device);
        }
        else
        {
            using var temperature = options.Temperature.ToScalar();                     // held for the call (Scalars)
            var scaled = options.Temperature == 1 ? raw : raw.div(temperature);         // (B, V)
            var (candidates, indices) = Candidates(scaled, options.TopK, options.TopP);  // (B, K), (B, K) or null
            var gumbel = Uniform(candidates, draws, rowDraws).log_().neg_().clamp_min_(Scalars.Tiny).log_(); // (B, K) log E, E = −log U
            var choice = candidates.sub(gumbel).argmax(-1);                              // (B)
            tokens = indices is null ? choice : indices.gather(-1, choice.unsqueeze(-1)).squeeze(-1);
            logProbs = Pick(modelLogProbs, tokens);
            samplingLogProbs = ReferenceEquals(candidates, raw) ? logProbs.alias()       // unfiltered at T = 1: the same distribution
                : Pick(candidates.log_softmax(-1), choice);
        }
        return new SampledTokens(tokens.MoveToOuterDisposeScope(), logProbs.MoveToOuterDisposeScope(),
            samplingLogProbs.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The tokens sampling may pick from scaled logits (B, V): their logits (B, K) and vocabulary ids (B, K), sorted
    /// by decreasing logit, or the input itself with null ids when nothing is filtered. Top-k keeps exactly k;
    /// top-p then keeps the smallest most-likely set whose probability mass reaches p (a token stays when the mass
    /// ranked above it is below p, so the first always stays) and sets the others' logits to −∞.
    /// </summary>
    internal static (Tensor Logits, Tensor? Indices) Candidates(Tensor scaled, int topK, double topP)
    {
        var vocab = scaled.shape[^1];
        var useTopK = topK > 0 && topK < vocab;
        if (!useTopK && topP >= 1) return (scaled, null);
        using var scope = NewDisposeScope();
        var (values, indices) = useTopK ? scaled.topk(topK, dim: -1) : scaled.sort(-1, descending: true); // (B, K)
        if (topP < 1)
        {
            var probs = values.softmax(-1);                                              // (B, K)
            var massAbove = probs.cumsum(-1) - probs;                                    // (B, K)
            using var p = topP.ToScalar();                                               // held for the call (Scalars)
            values = values.masked_fill(massAbove.ge(p), Scalars.NegativeInfinity);      // (B, K)
        }
        return (values.MoveToOuterDisposeScope(), indices.MoveToOuterDisposeScope());
    }

    // Uniform draws in the shape of `like` (B, K), on its device: from `draws` in element order, or row b from its own
    // stream rowDraws[b], or with neither from libtorch's default generator.
    private static Tensor Uniform(Tensor like, UniformDraws? draws, UniformDraws[]? rowDraws)
    {
        if (draws is null && rowDraws is null) return empty_like(like).uniform_(0, 1);
        var host = new float[like.numel()];
        if (rowDraws is null) draws!.Fill(host);
        else
        {
            var k = (int)like.size(1);
            for (var r = 0; r < rowDraws.Length; r++) rowDraws[r].Fill(host.AsSpan(r * k, k));
        }
        return tensor(host, like.shape, ScalarType.Float32).to(like.device);
    }

    private static Tensor Pick(Tensor logProbs, Tensor tokens) =>
        logProbs.gather(-1, tokens.unsqueeze(-1)).squeeze(-1);                           // (B)
}
