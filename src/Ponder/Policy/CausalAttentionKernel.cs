using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Ponder.Policy;

/// <summary>
/// Rotary positions and causal self-attention over a whole training batch, forward and backward, in C# on the memory of
/// the fused q/k/v projection (what <see cref="CausalAttentionFunction"/> wraps for autograd). One pass per batch row
/// replaces libtorch's rotary (five ops per tensor), the transposes to and from (B, h, T, hs) and
/// scaled_dot_product_attention, whose per-call cost dominates at the default model's shapes (64 rows of about 65
/// tokens, heads of 32): forward and backward of that alone ran at about 40 GFLOP/s, an eighth of the machine's matmul rate.
/// </summary>
/// <remarks>
/// Layouts: q/k/v rows (B, T, W), W = (nh + 2·nkv)·hs, query head h at columns h·hs, kv head g's keys at (nh + g)·hs and
/// values at (nh + nkv + g)·hs (the fused projection's output); rotary tables (T, hs) at positions 0 … T−1 with
/// rotate_half's sign folded into the sine (<see cref="Rotary"/>); output (B, T, nh·hs), the heads side by side (what
/// o_proj reads); log-sum-exp of each score row (B, nh, T), kept for the backward pass, which recomputes the
/// probabilities from it (as flash attention does) instead of storing them. Query head h reads kv head h / (nh / nkv).
///
/// Work is split over batch rows. A row's q/k/v block is read once, in order, into head-major scratch (rotated, the
/// queries scaled by 1/√hs): reading one head's 32 floats from each 1.5 kB token row instead left most of the time
/// waiting on memory. A row's query heads accumulate into its own key and value gradients, so no two threads write the
/// same memory and the split changes no result. Head sizes must be even (rotary pairs the halves).
/// </remarks>
internal static unsafe class CausalAttentionKernel
{
    private const int V = 8;                                                         // floats in a Vector256

    /// <summary>The sizes of one call, and where its tensors are.</summary>
    internal readonly record struct Job(int Batch, int T, int Heads, int KvHeads, int HeadDim,
        nint Qkv, nint Cos, nint Sin, nint Output, nint Lse, nint OutputGrad = 0, nint QkvGrad = 0)
    {
        public int Width => (Heads + 2 * KvHeads) * HeadDim;
        public int OutWidth => Heads * HeadDim;
        public int Padded => (T + V - 1) / V * V;                                    // score rows padded to whole vectors
        public int Group => Heads / KvHeads;
        public float Scale => 1f / MathF.Sqrt(HeadDim);
    }

    /// <summary>Whether the kernel takes a head size of <paramref name="headDim"/>.</summary>
    public static bool Supports(int headDim) => headDim % 2 == 0 && Vector256.IsHardwareAccelerated;

    /// <summary>Output and log-sum-exp of every (row, head), batch rows split over the torch threads.</summary>
    public static void Forward(Job job) => Split(job, backward: false);

    /// <summary>The gradient of the q/k/v rows (every element written) from the output's gradient, batch rows split over the torch threads.</summary>
    public static void Backward(Job job) => Split(job, backward: true);

    private static void Split(Job job, bool backward) =>
        RowWorkers.ForRows(job.Batch, 1, (first, end) =>
        {
            var scratch = new Scratch(job, backward);
            for (var b = first; b < end; b++)
            {
                if (backward) BackwardRow(job, scratch, b);
                else ForwardRow(job, scratch, b);
            }
        });

    /// <summary>
    /// One thread's working memory: native (a worker thread allocates nothing managed, see <see cref="RowWorkers"/>), and
    /// kept by the thread for its next call, so that a call touches no fresh pages (a page fault cost about 11 µs on the
    /// 2-core machine, BENCHMARKS.md).
    /// </summary>
    private readonly struct Scratch
    {
        /// <summary>Head-major (head, T, hs) rows: rotated scaled queries, rotated keys, values.</summary>
        public readonly float* Queries, Keys, Values;
        /// <summary>(kv head, hs, Tp): rotated keys and values transposed, padding columns zero.</summary>
        public readonly float* KeysT, ValuesT;
        /// <summary>(T, Tp) probabilities and score gradients of one head; (T, hs) key and value gradients of one kv head.</summary>
        public readonly float* Probs, ScoreGrads, KeyGrads, ValueGrads;
        /// <summary>Four score rows, four dP rows, Δ per row, one head row.</summary>
        public readonly float* Block, Block2, Delta, Row;
        [ThreadStatic] private static float* _block;
        [ThreadStatic] private static long _kept;                                     // floats in _block

        public Scratch(Job job, bool backward)
        {
            long t = job.T, tp = job.Padded, hs = job.HeadDim, nh = job.Heads, nkv = job.KvHeads;
            var k = backward ? 1 : 0;
            Span<long> sizes = [nh * t * hs, nkv * t * hs, nkv * t * hs, nkv * hs * tp, k * nkv * hs * tp, k * t * tp, k * t * tp, k * t * hs, k * t * hs, 4 * tp, k * 4 * tp, k * tp, hs];
            long total = 0;
            foreach (var size in sizes) total += Round(size);
            if (_kept < total)
            {
                NativeMemory.AlignedFree(_block);
                _block = (float*)NativeMemory.AlignedAlloc((nuint)(total * sizeof(float)), 64);
                _kept = total;
            }
            var p = _block;
            Queries = Take(ref p, sizes[0]);
            Keys = Take(ref p, sizes[1]);
            Values = Take(ref p, sizes[2]);
            KeysT = Take(ref p, sizes[3]);
            ValuesT = Take(ref p, sizes[4]);
            Probs = Take(ref p, sizes[5]);
            ScoreGrads = Take(ref p, sizes[6]);
            KeyGrads = Take(ref p, sizes[7]);
            ValueGrads = Take(ref p, sizes[8]);
            Block = Take(ref p, sizes[9]);
            Block2 = Take(ref p, sizes[10]);
            Delta = Take(ref p, sizes[11]);
            Row = Take(ref p, sizes[12]);
        }

        private static long Round(long n) => (n + 15) / 16 * 16;                     // whole 64-byte lines

        private static float* Take(ref float* p, long n)
        {
            var at = p;
            p += Round(n);
            return at;
        }
    }

    /// <summary>
    /// Reads batch row b's q/k/v block in order into head-major scratch: rotated queries (scaled by 1/√hs), rotated keys,
    /// values; then each kv head's keys (and, for the backward pass, values) transposed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void LoadRow(Job job, Scratch s, int b, bool transposeValues)
    {
        var (t, tp, hs, w, nh, nkv) = (job.T, job.Padded, job.HeadDim, job.Width, job.Heads, job.KvHeads);
        float* cos = (float*)job.Cos, sin = (float*)job.Sin;
        for (var j = 0; j < t; j++)
        {
            var row = (float*)job.Qkv + ((long)b * t + j) * w;
            for (var h = 0; h < nh; h++) Rotate(row + h * hs, cos + j * hs, sin + j * hs, s.Queries + ((long)h * t + j) * hs, hs, job.Scale);
            for (var g = 0; g < nkv; g++)
            {
                Rotate(row + (nh + g) * hs, cos + j * hs, sin + j * hs, s.Keys + ((long)g * t + j) * hs, hs, 1f);
                new Span<float>(row + (nh + nkv + g) * hs, hs).CopyTo(new Span<float>(s.Values + ((long)g * t + j) * hs, hs));
            }
        }
        for (var g = 0; g < nkv; g++)
        {
            Transpose(s.Keys + (long)g * t * hs, t, hs, tp, s.KeysT + (long)g * hs * tp);
            if (transposeValues) Transpose(s.Values + (long)g * t * hs, t, hs, tp, s.ValuesT + (long)g * hs * tp);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardRow(Job job, Scratch s, int b)
    {
        var (t, tp, hs) = (job.T, job.Padded, job.HeadDim);
        LoadRow(job, s, b, transposeValues: false);
        for (var h = 0; h < job.Heads; h++)
        {
            var g = h / job.Group;
            float* queries = s.Queries + (long)h * t * hs, keysT = s.KeysT + (long)g * hs * tp, values = s.Values + (long)g * t * hs;
            var lse = (float*)job.Lse + ((long)b * job.Heads + h) * t;
            for (var i0 = 0; i0 < t; i0 += 4)
            {
                var rows = Math.Min(4, t - i0);
                Scores(queries + i0 * hs, hs, rows, keysT, tp, hs, (i0 + rows + V - 1) / V, s.Block);
                for (var r = 0; r < rows; r++)
                {
                    var i = i0 + r;
                    var (max, sum) = Exponentials(s.Block + r * tp, i + 1);
                    lse[i] = max + MathF.Log(sum);
                    var y = (float*)job.Output + ((long)b * t + i) * job.OutWidth + h * hs;
                    WeightedRows(s.Block + r * tp, 1, values, hs, i + 1, y, hs, accumulate: false);
                    SmallRowOps.Scale(y, 1f / sum, hs);
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BackwardRow(Job job, Scratch s, int b)
    {
        var (t, tp, hs, w, c) = (job.T, job.Padded, job.HeadDim, job.Width, job.OutWidth);
        float* cos = (float*)job.Cos, sin = (float*)job.Sin;
        var grad = (float*)job.QkvGrad + (long)b * t * w;                           // row j at grad + j·W
        float* output = (float*)job.Output + (long)b * t * c, outputGrad = (float*)job.OutputGrad + (long)b * t * c;
        LoadRow(job, s, b, transposeValues: true);
        for (var g = 0; g < job.KvHeads; g++)
        {
            float* keys = s.Keys + (long)g * t * hs, keysT = s.KeysT + (long)g * hs * tp, valuesT = s.ValuesT + (long)g * hs * tp;
            new Span<float>(s.KeyGrads, t * hs).Clear();
            new Span<float>(s.ValueGrads, t * hs).Clear();
            for (var h = g * job.Group; h < (g + 1) * job.Group; h++)
            {
                var queries = s.Queries + (long)h * t * hs;
                var lse = (float*)job.Lse + ((long)b * job.Heads + h) * t;
                var dO = outputGrad + h * hs;                                        // row i at dO + i·C
                for (var i = 0; i < t; i++) s.Delta[i] = SmallRowLinear.Dot(dO + (long)i * c, output + (long)i * c + h * hs, hs);
                for (var i0 = 0; i0 < t; i0 += 4)
                {
                    var rows = Math.Min(4, t - i0);
                    var chunks = (i0 + rows + V - 1) / V;
                    Scores(queries + i0 * hs, hs, rows, keysT, tp, hs, chunks, s.Block);        // scores
                    Scores(dO + (long)i0 * c, c, rows, valuesT, tp, hs, chunks, s.Block2);    // dP = dO·Vᵀ
                    for (var r = 0; r < rows; r++)
                    {
                        var i = i0 + r;
                        ScoreGradients(s.Block + r * tp, s.Block2 + r * tp, lse[i], s.Delta[i], i + 1, s.Probs + i * tp, s.ScoreGrads + i * tp);
                        // dq_i = scale · Σ_j dS_ij k_j (the scores took the scaled query), then back through the rotation.
                        WeightedRows(s.ScoreGrads + i * tp, 1, keys, hs, i + 1, s.Row, hs, accumulate: false);
                        Unrotate(s.Row, cos + i * hs, sin + i * hs, grad + (long)i * w + h * hs, hs, job.Scale);
                    }
                }
                // dk_j += Σ_{i≥j} dS_ij · (scale·q_i); dv_j += Σ_{i≥j} P_ij · dO_i.
                for (var j = 0; j < t; j++)
                {
                    WeightedRows(s.ScoreGrads + j * tp + j, tp, queries + j * hs, hs, t - j, s.KeyGrads + j * hs, hs, accumulate: true);
                    WeightedRows(s.Probs + j * tp + j, tp, dO + (long)j * c, c, t - j, s.ValueGrads + j * hs, hs, accumulate: true);
                }
            }
            for (var j = 0; j < t; j++)
            {
                Unrotate(s.KeyGrads + j * hs, cos + j * hs, sin + j * hs, grad + (long)j * w + (job.Heads + g) * hs, hs, 1f);
                new Span<float>(s.ValueGrads + j * hs, hs).CopyTo(new Span<float>(grad + (long)j * w + (job.Heads + job.KvHeads + g) * hs, hs));
            }
        }
    }

    /// <summary>
    /// The probabilities P_ij = exp(s_ij − lse_i) of one row (j ≤ i, <paramref name="n"/> = i + 1) and the score gradients
    /// dS_ij = P_ij · (dP_ij − Δ_i), Δ_i = dO_i · O_i.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ScoreGradients(float* scores, float* dP, float lse, float delta, int n, float* probs, float* dS)
    {
        var j = 0;
        var (l, d) = (Vector256.Create(lse), Vector256.Create(delta));
        for (; j <= n - V; j += V)
        {
            var p = ExpOrZero(Vector256.Load(scores + j) - l);
            p.Store(probs + j);
            (p * (Vector256.Load(dP + j) - d)).Store(dS + j);
        }
        for (; j < n; j++)
        {
            var p = ExpOrZero(scores[j] - lse);
            (probs[j], dS[j]) = (p, p * (dP[j] - delta));
        }
    }

    /// <summary>
    /// Scores of up to four rows x_r (stride <paramref name="rowStride"/>) against the columns of a transposed (hs, Tp)
    /// matrix, over the first <paramref name="chunks"/> vectors of columns: out[r, j] = Σ_d x_r[d] · m[d, j]. Four rows
    /// share each column load; a missing row repeats the last (its result is not read).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Scores(float* rows, int rowStride, int count, float* transposed, int tp, int hs, int chunks, float* output)
    {
        var x0 = rows;
        var x1 = rows + (long)Math.Min(1, count - 1) * rowStride;
        var x2 = rows + (long)Math.Min(2, count - 1) * rowStride;
        var x3 = rows + (long)Math.Min(3, count - 1) * rowStride;
        for (var k = 0; k < chunks; k++)
        {
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            var m = transposed + k * V;
            for (var d = 0; d < hs; d++, m += tp)
            {
                var column = Vector256.Load(m);
                a0 = Vector256.FusedMultiplyAdd(Vector256.Create(x0[d]), column, a0);
                a1 = Vector256.FusedMultiplyAdd(Vector256.Create(x1[d]), column, a1);
                a2 = Vector256.FusedMultiplyAdd(Vector256.Create(x2[d]), column, a2);
                a3 = Vector256.FusedMultiplyAdd(Vector256.Create(x3[d]), column, a3);
            }
            a0.Store(output + k * V);
            a1.Store(output + tp + k * V);
            a2.Store(output + 2 * tp + k * V);
            a3.Store(output + 3 * tp + k * V);
        }
    }

    /// <summary>
    /// y (+)= Σ_{j &lt; n} weight_j · row_j over <paramref name="hs"/> columns, weight_j at weights[j · weightStride],
    /// row_j at rows + j · rowStride. Two accumulators per pair of vectors (even and odd j) keep four FMA chains going.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void WeightedRows(float* weights, int weightStride, float* rows, int rowStride, int n, float* y, int hs, bool accumulate)
    {
        var col = 0;
        for (; col + 2 * V <= hs; col += 2 * V)
        {
            Vector256<float> a0 = default, a1 = default, b0 = default, b1 = default;
            var j = 0;
            for (; j + 1 < n; j += 2)
            {
                var r0 = rows + (long)j * rowStride + col;
                var r1 = r0 + rowStride;
                var (w0, w1) = (Vector256.Create(weights[(long)j * weightStride]), Vector256.Create(weights[(long)(j + 1) * weightStride]));
                a0 = Vector256.FusedMultiplyAdd(w0, Vector256.Load(r0), a0);
                a1 = Vector256.FusedMultiplyAdd(w0, Vector256.Load(r0 + V), a1);
                b0 = Vector256.FusedMultiplyAdd(w1, Vector256.Load(r1), b0);
                b1 = Vector256.FusedMultiplyAdd(w1, Vector256.Load(r1 + V), b1);
            }
            if (j < n)
            {
                var r0 = rows + (long)j * rowStride + col;
                var w0 = Vector256.Create(weights[(long)j * weightStride]);
                a0 = Vector256.FusedMultiplyAdd(w0, Vector256.Load(r0), a0);
                a1 = Vector256.FusedMultiplyAdd(w0, Vector256.Load(r0 + V), a1);
            }
            var (s0, s1) = (a0 + b0, a1 + b1);
            if (accumulate) (s0, s1) = (s0 + Vector256.Load(y + col), s1 + Vector256.Load(y + col + V));
            s0.Store(y + col);
            s1.Store(y + col + V);
        }
        for (; col + V <= hs; col += V)
        {
            Vector256<float> a0 = default, b0 = default;
            var j = 0;
            for (; j + 1 < n; j += 2)
            {
                var r0 = rows + (long)j * rowStride + col;
                a0 = Vector256.FusedMultiplyAdd(Vector256.Create(weights[(long)j * weightStride]), Vector256.Load(r0), a0);
                b0 = Vector256.FusedMultiplyAdd(Vector256.Create(weights[(long)(j + 1) * weightStride]), Vector256.Load(r0 + rowStride), b0);
            }
            if (j < n) a0 = Vector256.FusedMultiplyAdd(Vector256.Create(weights[(long)j * weightStride]), Vector256.Load(rows + (long)j * rowStride + col), a0);
            var s0 = a0 + b0;
            if (accumulate) s0 += Vector256.Load(y + col);
            s0.Store(y + col);
        }
        for (; col < hs; col++)
        {
            var sum = accumulate ? y[col] : 0f;
            for (var j = 0; j < n; j++) sum += weights[(long)j * weightStride] * rows[(long)j * rowStride + col];
            y[col] = sum;
        }
    }

    /// <summary>
    /// exp(s_j − max) in place over the first <paramref name="n"/> scores of a row; returns the max and the sum (the
    /// softmax is these over the sum, which the caller applies to the weighted values instead). Other entries untouched.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (float Max, float Sum) Exponentials(float* p, int n)
    {
        var j = 0;
        var mv = Vector256.Create(float.NegativeInfinity);
        for (; j + V <= n; j += V) mv = Vector256.MaxNative(mv, Vector256.Load(p + j));
        var max = float.NegativeInfinity;
        for (var lane = 0; lane < V; lane++) max = MathF.Max(max, mv.GetElement(lane));
        for (; j < n; j++) max = MathF.Max(max, p[j]);
        var (m, acc) = (Vector256.Create(max), Vector256<float>.Zero);
        j = 0;
        for (; j + V <= n; j += V)
        {
            var e = ExpOrZero(Vector256.Load(p + j) - m);
            e.Store(p + j);
            acc += e;
        }
        var sum = Vector256.Sum(acc);
        for (; j < n; j++) sum += p[j] = ExpOrZero(p[j] - max);
        return (max, sum);
    }

    /// <summary>
    /// exp(x), or 0 below <see cref="Negligible"/>. A trained model's attention is sharp: most weights of a row are far
    /// below float32's rounding of the row's sum, and exp of them gives subnormal numbers, every later multiply of which
    /// took a slow path (the backward pass ran at half speed in training against random inputs).
    /// </summary>
    private static Vector256<float> ExpOrZero(Vector256<float> x)
    {
        var floor = Vector256.Create(Negligible);
        return Vector256.ConditionalSelect(Vector256.GreaterThan(x, floor), Vector256.Exp(Vector256.Max(x, floor)), Vector256<float>.Zero);
    }

    private static float ExpOrZero(float x) => x > Negligible ? MathF.Exp(x) : 0f;

    /// <summary>Exponents below which a weight counts as zero: e⁻⁴⁰ ≈ 4·10⁻¹⁸, far below float32's relative rounding of 6·10⁻⁸.</summary>
    private const float Negligible = -40f;

    /// <summary>
    /// scale · (x·cos + rotate_half(x)·sin) of one head row into <paramref name="y"/>; the sine carries rotate_half's
    /// sign, so each half reads the other half of x.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rotate(float* x, float* cos, float* sin, float* y, int hs, float scale)
    {
        var half = hs / 2;
        var sv = Vector256.Create(scale);
        var d = 0;
        for (; d + V <= half; d += V)
        {
            var (lo, hi) = (Vector256.Load(x + d), Vector256.Load(x + half + d));
            ((lo * Vector256.Load(cos + d) + hi * Vector256.Load(sin + d)) * sv).Store(y + d);
            ((hi * Vector256.Load(cos + half + d) + lo * Vector256.Load(sin + half + d)) * sv).Store(y + half + d);
        }
        for (; d < half; d++)
        {
            var (lo, hi) = (x[d], x[half + d]);
            (y[d], y[half + d]) = ((lo * cos[d] + hi * sin[d]) * scale, (hi * cos[half + d] + lo * sin[half + d]) * scale);
        }
    }

    /// <summary>
    /// The gradient of x from the gradient dy of <see cref="Rotate"/>'s output: dx[d] = scale · (dy[d]·cos[d] +
    /// dy[d′]·sin[d′]), d′ = d ± hs/2 (the rotation's transpose).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Unrotate(float* dy, float* cos, float* sin, float* dx, int hs, float scale)
    {
        var half = hs / 2;
        var sv = Vector256.Create(scale);
        var d = 0;
        for (; d + V <= half; d += V)
        {
            var (lo, hi) = (Vector256.Load(dy + d), Vector256.Load(dy + half + d));
            ((lo * Vector256.Load(cos + d) + hi * Vector256.Load(sin + half + d)) * sv).Store(dx + d);
            ((hi * Vector256.Load(cos + half + d) + lo * Vector256.Load(sin + d)) * sv).Store(dx + half + d);
        }
        for (; d < half; d++)
        {
            var (lo, hi) = (dy[d], dy[half + d]);
            (dx[d], dx[half + d]) = ((lo * cos[d] + hi * sin[half + d]) * scale, (hi * cos[half + d] + lo * sin[d]) * scale);
        }
    }

    /// <summary>Contiguous (T, hs) rows transposed into (hs, Tp), the padding columns zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Transpose(float* rows, int t, int hs, int tp, float* output)
    {
        for (var j = 0; j < t; j++)
            for (var d = 0; d < hs; d++) output[d * tp + j] = rows[j * hs + d];
        for (var d = 0; d < hs; d++)
            for (var j = t; j < tp; j++) output[d * tp + j] = 0;
    }

}
