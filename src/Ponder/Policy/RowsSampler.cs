using System.Runtime.Intrinsics;
using TorchSharp;
using static TorchSharp.torch;

namespace Ponder.Policy;

/// <summary>
/// <see cref="Sampler"/>'s unfiltered case (no top-k, no top-p) on float32 CPU logits, in C# on the tensor's memory:
/// per row the uniform noise (from <see cref="UniformDraws"/>, the draws the libtorch path takes from the same
/// stream, so the same seed picks the same tokens), the log-sum-exp, the Gumbel-max argmax and the picked
/// log-probabilities in one pass each, instead of the eight to ten libtorch calls of the general path (at a decode
/// step of a small model those calls cost about as much as the step's attention).
/// </summary>
/// <remarks>
/// Log-probabilities match libtorch's log_softmax within rounding; the argmax takes the first of equal values, as
/// libtorch's does.
/// </remarks>
internal static class RowsSampler
{
    private static long _calls;

    /// <summary>Rows sampled here so far in this process (tests check which path sampling took).</summary>
    public static long Calls => Interlocked.Read(ref _calls);

    /// <summary>Whether <paramref name="logits"/> (B, V) and <paramref name="options"/> take this path.</summary>
    public static bool Applies(Tensor logits, SamplingOptions options) =>
        Readable(logits) && logits.numel() > 0 && (options.TopK <= 0 || options.TopK >= logits.size(1)) && options.TopP >= 1;

    /// <summary>Whether logits (B, V) can be read in place here: float32, contiguous, on the CPU.</summary>
    public static bool Readable(Tensor logits) =>
        logits.device_type == DeviceType.CPU && logits.dtype == ScalarType.Float32 && logits.dim() == 2 && logits.is_contiguous();

    /// <summary>Samples every row; with <paramref name="draws"/> null, the noise comes from libtorch's default generator.</summary>
    public static unsafe SampledTokens Sample(Tensor logits, SamplingOptions options, UniformDraws? draws)
    {
        var (b, v) = ((int)logits.size(0), (int)logits.size(1));
        Interlocked.Add(ref _calls, b);
        var greedy = SamplingOptions.Greedy(options.Temperature);
        using var noise = greedy || draws is not null ? null : empty_like(logits).uniform_(0, 1);   // (B, V) U, E = −log U ~ Exp(1)
        Span<float> rowNoise = greedy || draws is null ? [] : v <= 4096 ? stackalloc float[v] : new float[v];  // (V), a row's U at a time
        var tokens = empty(b, ScalarType.Int64);
        var logProbs = empty(b, ScalarType.Float32);
        var samplingLogProbs = zeros(b, ScalarType.Float32);
        var tp = (long*)SmallRowOps.Address(tokens);
        var lp = (float*)SmallRowOps.Address(logProbs);
        var sp = (float*)SmallRowOps.Address(samplingLogProbs);
        var temperature = (float)options.Temperature;
        var raw = (float*)SmallRowOps.Address(logits);
        var u = noise is null ? null : (float*)SmallRowOps.Address(noise);
        fixed (float* drawn = rowNoise)
        {
            for (var r = 0; r < b; r++)
            {
                draws?.Fill(rowNoise);                                                  // rows in order: the (B, V) tensor's order
                (tp[r], lp[r], sp[r]) = SampleRow(raw + (long)r * v, v, greedy ? 0f : temperature, draws is null && u is not null ? u + (long)r * v : drawn);
            }
        }
        return new SampledTokens(tokens, logProbs, samplingLogProbs);
    }

    /// <summary>
    /// One row of <paramref name="v"/> logits: the token picked at <paramref name="temperature"/> (0: greedy, and
    /// <paramref name="u"/> unread) with the noise <paramref name="u"/> (V uniform draws), its model log-probability and
    /// its log-probability under the distribution sampled from.
    /// </summary>
    private static unsafe (long Token, float LogProb, float SamplingLogProb) SampleRow(float* row, int v, float temperature, float* u)
    {
        var lse = LogSumExp(row, v, 1f);
        if (temperature == 0)
        {
            var best = ArgMax(row, null, v, 1f);
            return (best, row[best] - lse, 0f);
        }
        var choice = ArgMax(row, u, v, temperature);
        var sampling = temperature == 1 ? row[choice] - lse : row[choice] / temperature - LogSumExp(row, v, temperature);
        return (choice, row[choice] - lse, sampling);
    }

    /// <summary>
    /// Samples rows <paramref name="rows"/> of <paramref name="logits"/> (B, V), each at its own temperature with its
    /// own noise stream (none for a greedy row), writing token and model log-probability at the row's index. The
    /// logits must be float32, contiguous, on the CPU.
    /// </summary>
    public static unsafe void SampleRows(Tensor logits, IReadOnlyList<int> rows, IReadOnlyList<RowSampling?> sampling, long[] tokens, float[] logProbs)
    {
        var v = (int)logits.size(1);
        Interlocked.Add(ref _calls, rows.Count);
        Span<float> rowNoise = v <= 4096 ? stackalloc float[v] : new float[v];
        var raw = (float*)SmallRowOps.Address(logits);
        fixed (float* drawn = rowNoise)
        {
            foreach (var r in rows)
            {
                var row = sampling[r]!;
                var greedy = SamplingOptions.Greedy(row.Temperature);
                if (!greedy) row.Draws!.Fill(rowNoise);
                (tokens[r], logProbs[r], _) = SampleRow(raw + (long)r * v, v, greedy ? 0f : (float)row.Temperature, drawn);
            }
        }
    }

    // log Σ exp(x[i] / t) over n elements.
    internal static unsafe float LogSumExp(float* x, int n, float t)
    {
        var max = Largest(x, n, t);
        if (float.IsNegativeInfinity(max)) return max;
        var sum = 0f;
        var i2 = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var (m, tv, acc) = (Vector256.Create(max), Vector256.Create(t), Vector256<float>.Zero);
            for (; i2 <= n - Vector256<float>.Count; i2 += Vector256<float>.Count) acc += Vector256.Exp(Vector256.Load(x + i2) / tv - m);
            sum = Vector256.Sum(acc);
        }
        for (; i2 < n; i2++) sum += MathF.Exp(x[i2] / t - max);
        return max + MathF.Log(sum);
    }

    // The largest x[i] / t (a NaN if any is one; the maximum does not depend on the order it is taken in).
    private static unsafe float Largest(float* x, int n, float t)
    {
        var max = float.NegativeInfinity;
        var i = 0;
        if (Vector256.IsHardwareAccelerated && n >= Vector256<float>.Count)
        {
            var (m, tv) = (Vector256.Create(float.NegativeInfinity), Vector256.Create(t));
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count) m = Vector256.Max(m, Vector256.Load(x + i) / tv);
            for (var j = 0; j < Vector256<float>.Count; j++) max = MathF.Max(max, m.GetElement(j));
        }
        for (; i < n; i++) max = MathF.Max(max, x[i] / t);
        return max;
    }

    // argmax over i of x[i] / t − log(max(−log u[i], 1e-30)) (the Gumbel-max trick, −log u ~ Exp(1)), or of x[i] when
    // u is null: the first index of the largest value, or of the first NaN (as libtorch's argmax).
    private static unsafe int ArgMax(float* x, float* u, int n, float t)
    {
        if (u is null) return FirstLargest(x, n);
        var buffer = n <= 4096 ? null : new float[n];
        var stack = stackalloc float[buffer is null ? n : 0];
        fixed (float* heap = buffer)
        {
            var s = buffer is null ? stack : heap;
            var i = 0;
            if (Vector512.IsHardwareAccelerated)                                     // the same values as eight at a time, bit for bit
            {
                var (tv, tiny) = (Vector512.Create(t), Vector512.Create(1e-30f));
                for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
                    (Vector512.Load(x + i) / tv - Vector512.Log(Vector512.Max(-Vector512.Log(Vector512.Load(u + i)), tiny))).Store(s + i);
            }
            if (Vector256.IsHardwareAccelerated)
            {
                var (tv, tiny) = (Vector256.Create(t), Vector256.Create(1e-30f));
                for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
                    (Vector256.Load(x + i) / tv - Vector256.Log(Vector256.Max(-Vector256.Log(Vector256.Load(u + i)), tiny))).Store(s + i);
            }
            for (; i < n; i++) s[i] = x[i] / t - MathF.Log(MathF.Max(-MathF.Log(u[i]), 1e-30f));
            return FirstLargest(s, n);
        }
    }

    // The first index of the largest of n scores, or of the first NaN.
    private static unsafe int FirstLargest(float* scores, int n)
    {
        var best = Largest(scores, n, 1f);
        for (var i = 0; i < n; i++)
            if (scores[i] == best || float.IsNaN(scores[i])) return i;
        return 0;
    }
}
