using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

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

    /// <summary>
    /// Whether the score and weighted-row loops take 16-float vectors (AVX-512, where the JIT has it). Every output
    /// element is the same chain of multiply-adds either way (each lane sums over its own column), so the results are
    /// the same bit for bit; tests turn it off to check that.
    /// </summary>
    internal static bool Wide { get; set; } = Vector512.IsHardwareAccelerated;

    /// <summary>The sizes of one call, and where its tensors are.</summary>
    internal readonly record struct Job(int Batch, int T, int Heads, int KvHeads, int HeadDim,
        nint Qkv, nint Cos, nint Sin, nint Output, nint Lse, nint OutputGrad = 0, nint QkvGrad = 0, PackedRows? Packed = null)
    {
        public int Width => (Heads + 2 * KvHeads) * HeadDim;
        public int OutWidth => Heads * HeadDim;
        public int Padded => CausalAttentionKernel.Padded(Longest);
        /// <summary>The longest sequence: T, or the longest of the packed rows' (what a thread's scratch holds).</summary>
        public int Longest => Packed?.Longest ?? T;
        public int Group => Heads / KvHeads;
        public float Scale => 1f / MathF.Sqrt(HeadDim);
    }

    /// <summary>Score rows of a sequence of <paramref name="t"/> tokens, padded to whole vectors.</summary>
    private static int Padded(int t) => (t + V - 1) / V * V;

    /// <summary>Whether the kernel takes a head size of <paramref name="headDim"/>.</summary>
    public static bool Supports(int headDim) => headDim % 2 == 0 && Vector256.IsHardwareAccelerated;

    /// <summary>Output and log-sum-exp of every (row, head), batch rows split over the torch threads.</summary>
    public static void Forward(Job job) => Split(job, backward: false);

    /// <summary>The gradient of the q/k/v rows (every element written) from the output's gradient, batch rows split over the torch threads.</summary>
    public static void Backward(Job job) => Split(job, backward: true);

    /// <summary>
    /// The sequences (each batch row whole, or the ones <see cref="Job.Packed"/> lays in the rows), each attending only
    /// within itself at positions from 0, split over the torch threads. Sequences write disjoint rows of the output and
    /// gradient, so the split changes no result.
    /// </summary>
    private static void Split(Job job, bool backward) =>
        RowWorkers.ForRows(job.Packed?.Sequences.Length ?? job.Batch, 1, (first, end) =>
        {
            var scratch = new Scratch(job, backward);
            for (var i = first; i < end; i++)
            {
                var (b, start, t) = job.Packed is { } packed ? packed.Sequences[i] : (i, 0, job.T);
                if (backward) BackwardRow(job, scratch, b, start, t);
                else ForwardRow(job, scratch, b, start, t);
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
        /// <summary>Four score rows, four dP rows, Δ per row, four head rows.</summary>
        public readonly float* Block, Block2, Delta, Row;
        [ThreadStatic] private static float* _block;
        [ThreadStatic] private static long _kept;                                     // floats in _block

        public Scratch(Job job, bool backward)
        {
            long t = job.Longest, tp = job.Padded, hs = job.HeadDim, nh = job.Heads, nkv = job.KvHeads;
            var k = backward ? 1 : 0;
            Span<long> sizes = [nh * t * hs, nkv * t * hs, nkv * t * hs, nkv * hs * tp, k * nkv * hs * tp, k * t * tp, k * t * tp, k * t * hs, k * t * hs, 4 * tp, k * 4 * tp, k * tp, 4 * hs];
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
    private static void LoadRow(Job job, Scratch s, int b, int start, int t, bool transposeValues)
    {
        var (tp, hs, w, nh, nkv) = (Padded(t), job.HeadDim, job.Width, job.Heads, job.KvHeads);
        float* cos = (float*)job.Cos, sin = (float*)job.Sin;
        for (var j = 0; j < t; j++)
        {
            var row = (float*)job.Qkv + ((long)b * job.T + start + j) * w;
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
    private static void ForwardRow(Job job, Scratch s, int b, int start, int t)
    {
        var (tp, hs) = (Padded(t), job.HeadDim);
        LoadRow(job, s, b, start, t, transposeValues: false);
        Span<float> sums = stackalloc float[4];
        for (var h = 0; h < job.Heads; h++)
        {
            var g = h / job.Group;
            float* queries = s.Queries + (long)h * t * hs, keysT = s.KeysT + (long)g * hs * tp, values = s.Values + (long)g * t * hs;
            var lse = (float*)job.Lse + ((long)b * job.Heads + h) * job.T + start;
            for (var i0 = 0; i0 < t; i0 += 4)
            {
                var rows = Math.Min(4, t - i0);
                var (n, chunks) = (i0 + rows, (i0 + rows + V - 1) / V);
                Scores(queries + i0 * hs, hs, rows, keysT, tp, hs, chunks, s.Block);
                for (var r = 0; r < rows; r++)
                {
                    var (max, sum) = Exponentials(s.Block + r * tp, i0 + r + 1, chunks);
                    lse[i0 + r] = max + MathF.Log(sum);
                    sums[r] = sum;
                }
                // The rows' weights are zero past their own position, so all four sum over the block's n values.
                var y = (float*)job.Output + ((long)b * job.T + start + i0) * job.OutWidth + h * hs;
                WeightedRows4(s.Block, 1, tp, rows, values, hs, n, y, job.OutWidth, hs, accumulate: false);
                for (var r = 0; r < rows; r++) SmallRowOps.Scale(y + (long)r * job.OutWidth, 1f / sums[r], hs);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BackwardRow(Job job, Scratch s, int b, int start, int t)
    {
        var (tp, hs, w, c) = (Padded(t), job.HeadDim, job.Width, job.OutWidth);
        float* cos = (float*)job.Cos, sin = (float*)job.Sin;
        var first = (long)b * job.T + start;                                        // the sequence's first token in the batch
        var grad = (float*)job.QkvGrad + first * w;                                 // row j at grad + j·W
        float* output = (float*)job.Output + first * c, outputGrad = (float*)job.OutputGrad + first * c;
        LoadRow(job, s, b, start, t, transposeValues: true);
        for (var g = 0; g < job.KvHeads; g++)
        {
            float* keys = s.Keys + (long)g * t * hs, keysT = s.KeysT + (long)g * hs * tp, valuesT = s.ValuesT + (long)g * hs * tp;
            new Span<float>(s.KeyGrads, t * hs).Clear();
            new Span<float>(s.ValueGrads, t * hs).Clear();
            for (var h = g * job.Group; h < (g + 1) * job.Group; h++)
            {
                var queries = s.Queries + (long)h * t * hs;
                var lse = (float*)job.Lse + ((long)b * job.Heads + h) * job.T + start;
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
                        ScoreGradients(s.Block + r * tp, s.Block2 + r * tp, lse[i], s.Delta[i], i + 1, chunks, s.Probs + (long)i * tp, s.ScoreGrads + (long)i * tp);
                    }
                    // dq_i = scale · Σ_j dS_ij k_j (the scores took the scaled query), then back through the rotation.
                    WeightedRows4(s.ScoreGrads + (long)i0 * tp, 1, tp, rows, keys, hs, i0 + rows, s.Row, hs, hs, accumulate: false);
                    for (var r = 0; r < rows; r++)
                        Rotate(s.Row + r * hs, cos + (i0 + r) * hs, sin + (i0 + r) * hs, grad + (long)(i0 + r) * w + h * hs, hs, job.Scale, transpose: true);
                }
                // dk_j += Σ_{i≥j} dS_ij · (scale·q_i); dv_j += Σ_{i≥j} P_ij · dO_i, four j at a time: row i's weights for
                // j0 … j0+3 lie side by side, and are zero where j > i (written so by ScoreGradients).
                for (var j0 = 0; j0 < t; j0 += 4)
                {
                    var rows = Math.Min(4, t - j0);
                    WeightedRows4(s.ScoreGrads + (long)j0 * tp + j0, tp, 1, rows, queries + j0 * hs, hs, t - j0, s.KeyGrads + j0 * hs, hs, hs, accumulate: true);
                    WeightedRows4(s.Probs + (long)j0 * tp + j0, tp, 1, rows, dO + (long)j0 * c, c, t - j0, s.ValueGrads + j0 * hs, hs, hs, accumulate: true);
                }
            }
            for (var j = 0; j < t; j++)
            {
                Rotate(s.KeyGrads + j * hs, cos + j * hs, sin + j * hs, grad + (long)j * w + (job.Heads + g) * hs, hs, 1f, transpose: true);
                new Span<float>(s.ValueGrads + j * hs, hs).CopyTo(new Span<float>(grad + (long)j * w + (job.Heads + job.KvHeads + g) * hs, hs));
            }
        }
    }

    /// <summary>
    /// The probabilities P_ij = exp(s_ij − lse_i) of one row (j ≤ i, <paramref name="n"/> = i + 1) and the score gradients
    /// dS_ij = P_ij · (dP_ij − Δ_i), Δ_i = dO_i · O_i, over the first <paramref name="chunks"/> vectors of the row: zero
    /// from j = n on.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ScoreGradients(float* scores, float* dP, float lse, float delta, int n, int chunks, float* probs, float* dS)
    {
        var (l, d) = (Vector256.Create(lse), Vector256.Create(delta));
        var k = 0;
        if (Wide)
        {
            var (l16, d16) = (Vector512.Create(lse), Vector512.Create(delta));
            for (; k + 2 <= chunks; k += 2)
            {
                var j = k * V;
                var p = Vector512.ConditionalSelect(Before16(j, n), ExpOrZero(Vector512.Load(scores + j) - l16), Vector512<float>.Zero);
                p.Store(probs + j);
                (p * (Vector512.Load(dP + j) - d16)).Store(dS + j);
            }
        }
        for (; k < chunks; k++)
        {
            var j = k * V;
            var p = Vector256.ConditionalSelect(Before(j, n), ExpOrZero(Vector256.Load(scores + j) - l), Vector256<float>.Zero);
            p.Store(probs + j);
            (p * (Vector256.Load(dP + j) - d)).Store(dS + j);
        }
    }

    /// <summary>Lanes j … j + 15 that are below <paramref name="n"/>, as a mask.</summary>
    private static Vector512<float> Before16(int j, int n) =>
        Vector512.LessThan(Vector512.Create(j) + Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), Vector512.Create(n)).AsSingle();

    /// <summary>Lanes j … j + 7 that are below <paramref name="n"/>, as a mask.</summary>
    private static Vector256<float> Before(int j, int n) =>
        Vector256.LessThan(Vector256.Create(j) + Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7), Vector256.Create(n)).AsSingle();

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
        var k = 0;
        if (Wide)
            for (; k + 2 <= chunks; k += 2)                                          // two chunks in one 16-float vector
            {
                Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
                var m = transposed + k * V;
                for (var d = 0; d < hs; d++, m += tp)
                {
                    var column = Vector512.Load(m);
                    a0 = Vector512.FusedMultiplyAdd(Vector512.Create(x0[d]), column, a0);
                    a1 = Vector512.FusedMultiplyAdd(Vector512.Create(x1[d]), column, a1);
                    a2 = Vector512.FusedMultiplyAdd(Vector512.Create(x2[d]), column, a2);
                    a3 = Vector512.FusedMultiplyAdd(Vector512.Create(x3[d]), column, a3);
                }
                a0.Store(output + k * V);
                a1.Store(output + tp + k * V);
                a2.Store(output + 2 * tp + k * V);
                a3.Store(output + 3 * tp + k * V);
            }
        for (; k < chunks; k++)
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
    /// WeightedRows for <paramref name="count"/> (1–4) outputs at once, sharing each row's loads: y_r (+)= Σ_{m &lt; n}
    /// w_r(m) · row_m over <paramref name="hs"/> columns, w_r(m) at weights[m · weightStride + r · weightStep], row_m at
    /// rows + m · rowStride, y_r at y + r · yStride. A missing output repeats the last one's weights; it is not stored.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void WeightedRows4(float* weights, int weightStride, int weightStep, int count, float* rows, int rowStride, int n,
        float* y, int yStride, int hs, bool accumulate)
    {
        float* w0 = weights, w1 = weights + Math.Min(1, count - 1) * weightStep, w2 = weights + Math.Min(2, count - 1) * weightStep,
            w3 = weights + Math.Min(3, count - 1) * weightStep;
        var col = 0;
        if (Wide)
            for (; col + 4 * V <= hs; col += 4 * V)                                  // 32 columns: two 16-float vectors a row
            {
                Vector512<float> a0 = default, a1 = default, b0 = default, b1 = default, c0 = default, c1 = default, d0 = default, d1 = default;
                var r = rows + col;
                for (long m = 0, at = 0; m < n; m++, at += weightStride, r += rowStride)
                {
                    var (lo, hi) = (Vector512.Load(r), Vector512.Load(r + 2 * V));
                    var x = Vector512.Create(w0[at]);
                    (a0, a1) = (Vector512.FusedMultiplyAdd(x, lo, a0), Vector512.FusedMultiplyAdd(x, hi, a1));
                    x = Vector512.Create(w1[at]);
                    (b0, b1) = (Vector512.FusedMultiplyAdd(x, lo, b0), Vector512.FusedMultiplyAdd(x, hi, b1));
                    x = Vector512.Create(w2[at]);
                    (c0, c1) = (Vector512.FusedMultiplyAdd(x, lo, c0), Vector512.FusedMultiplyAdd(x, hi, c1));
                    x = Vector512.Create(w3[at]);
                    (d0, d1) = (Vector512.FusedMultiplyAdd(x, lo, d0), Vector512.FusedMultiplyAdd(x, hi, d1));
                }
                Put(y + col, a0, a1, accumulate);
                if (count > 1) Put(y + yStride + col, b0, b1, accumulate);
                if (count > 2) Put(y + 2L * yStride + col, c0, c1, accumulate);
                if (count > 3) Put(y + 3L * yStride + col, d0, d1, accumulate);
            }
        for (; col + 2 * V <= hs; col += 2 * V)
        {
            Vector256<float> a0 = default, a1 = default, b0 = default, b1 = default, c0 = default, c1 = default, d0 = default, d1 = default;
            var r = rows + col;
            for (long m = 0, at = 0; m < n; m++, at += weightStride, r += rowStride)
            {
                var (lo, hi) = (Vector256.Load(r), Vector256.Load(r + V));
                var x = Vector256.Create(w0[at]);
                (a0, a1) = (Vector256.FusedMultiplyAdd(x, lo, a0), Vector256.FusedMultiplyAdd(x, hi, a1));
                x = Vector256.Create(w1[at]);
                (b0, b1) = (Vector256.FusedMultiplyAdd(x, lo, b0), Vector256.FusedMultiplyAdd(x, hi, b1));
                x = Vector256.Create(w2[at]);
                (c0, c1) = (Vector256.FusedMultiplyAdd(x, lo, c0), Vector256.FusedMultiplyAdd(x, hi, c1));
                x = Vector256.Create(w3[at]);
                (d0, d1) = (Vector256.FusedMultiplyAdd(x, lo, d0), Vector256.FusedMultiplyAdd(x, hi, d1));
            }
            Put(y + col, a0, a1, accumulate);
            if (count > 1) Put(y + yStride + col, b0, b1, accumulate);
            if (count > 2) Put(y + 2L * yStride + col, c0, c1, accumulate);
            if (count > 3) Put(y + 3L * yStride + col, d0, d1, accumulate);
        }
        if (col < hs)                                                                // what is left of a head not a multiple of 16
            for (var k = 0; k < count; k++)
                WeightedRows(weights + k * weightStep, weightStride, rows + col, rowStride, n, y + k * yStride + col, hs - col, accumulate);
    }

    /// <summary>Two 16-float vectors to y and y + 16, or added to what is there.</summary>
    private static void Put(float* y, Vector512<float> lo, Vector512<float> hi, bool accumulate)
    {
        if (accumulate) (lo, hi) = (lo + Vector512.Load(y), hi + Vector512.Load(y + 2 * V));
        lo.Store(y);
        hi.Store(y + 2 * V);
    }

    /// <summary>Two vectors to y and y + 8, or added to what is there.</summary>
    private static void Put(float* y, Vector256<float> lo, Vector256<float> hi, bool accumulate)
    {
        if (accumulate) (lo, hi) = (lo + Vector256.Load(y), hi + Vector256.Load(y + V));
        lo.Store(y);
        hi.Store(y + V);
    }

    /// <summary>
    /// exp(s_j − max) in place over the first <paramref name="n"/> scores of a row, zeros after them to the end of its
    /// first <paramref name="chunks"/> vectors; returns the max and the sum (the softmax is these over the sum, which the
    /// caller applies to the weighted values instead).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (float Max, float Sum) Exponentials(float* p, int n, int chunks)
    {
        var mv = Vector256.Create(float.NegativeInfinity);
        for (var k = 0; k < chunks; k++)
            mv = Vector256.ConditionalSelect(Before(k * V, n), Vector256.MaxNative(mv, Vector256.Load(p + k * V)), mv);
        var max = float.NegativeInfinity;
        for (var lane = 0; lane < V; lane++) max = MathF.Max(max, mv.GetElement(lane));
        var (m, acc) = (Vector256.Create(max), Vector256<float>.Zero);
        var first = 0;
        if (Wide)                                                                    // two chunks at a time, summed in the same order
        {
            var m16 = Vector512.Create(max);
            for (; first + 2 <= chunks; first += 2)
            {
                var e = Vector512.ConditionalSelect(Before16(first * V, n), ExpOrZero(Vector512.Load(p + first * V) - m16), Vector512<float>.Zero);
                e.Store(p + first * V);
                acc += e.GetLower();
                acc += e.GetUpper();
            }
        }
        for (var k = first; k < chunks; k++)
        {
            var e = Vector256.ConditionalSelect(Before(k * V, n), ExpOrZero(Vector256.Load(p + k * V) - m), Vector256<float>.Zero);
            e.Store(p + k * V);
            acc += e;
        }
        return (max, Vector256.Sum(acc));
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

    private static Vector512<float> ExpOrZero(Vector512<float> x)
    {
        var floor = Vector512.Create(Negligible);
        return Vector512.ConditionalSelect(Vector512.GreaterThan(x, floor), Vector512.Exp(Vector512.Max(x, floor)), Vector512<float>.Zero);
    }

    private static float ExpOrZero(float x) => x > Negligible ? MathF.Exp(x) : 0f;

    /// <summary>Exponents below which a weight counts as zero: e⁻⁴⁰ ≈ 4·10⁻¹⁸, far below float32's relative rounding of 6·10⁻⁸.</summary>
    private const float Negligible = -40f;

    /// <summary>
    /// scale · (x·cos + rotate_half(x)·sin) of one head row into <paramref name="y"/>; the sine carries rotate_half's
    /// sign, so each half reads the other half of x. With <paramref name="transpose"/>, the rotation's transpose (what the
    /// backward pass applies to a gradient): y[d] = scale · (x[d]·cos[d] + x[d′]·sin[d′]), d′ = d ± hs/2, that is, each
    /// half takes the other half's sine. <paramref name="y"/> may be <paramref name="x"/> (each step reads both halves
    /// before it writes them): the decode path rotates in place (<see cref="SmallRowOps.RotateHeads"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Rotate(float* x, float* cos, float* sin, float* y, int hs, float scale, bool transpose = false)
    {
        var half = hs / 2;
        float* sinLo = transpose ? sin + half : sin, sinHi = transpose ? sin : sin + half;   // the sines the low and high halves take
        var sv = Vector256.Create(scale);
        var d = 0;
        if (Wide)
        {
            var s16 = Vector512.Create(scale);
            for (; d + 2 * V <= half; d += 2 * V)
            {
                var (lo, hi) = (Vector512.Load(x + d), Vector512.Load(x + half + d));
                ((lo * Vector512.Load(cos + d) + hi * Vector512.Load(sinLo + d)) * s16).Store(y + d);
                ((hi * Vector512.Load(cos + half + d) + lo * Vector512.Load(sinHi + d)) * s16).Store(y + half + d);
            }
        }
        for (; d + V <= half; d += V)
        {
            var (lo, hi) = (Vector256.Load(x + d), Vector256.Load(x + half + d));
            ((lo * Vector256.Load(cos + d) + hi * Vector256.Load(sinLo + d)) * sv).Store(y + d);
            ((hi * Vector256.Load(cos + half + d) + lo * Vector256.Load(sinHi + d)) * sv).Store(y + half + d);
        }
        for (; d < half; d++)
        {
            var (lo, hi) = (x[d], x[half + d]);
            (y[d], y[half + d]) = ((lo * cos[d] + hi * sinLo[d]) * scale, (hi * cos[half + d] + lo * sinHi[d]) * scale);
        }
    }

    /// <summary>
    /// Contiguous (T, hs) rows transposed into (hs, Tp), the padding columns zero: 8 × 8 blocks in registers where AVX
    /// and the head size allow (element by element, the transposes took a seventh of the node's time), the last partial
    /// block of rows element by element.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Transpose(float* rows, int t, int hs, int tp, float* output)
    {
        var j = 0;
        if (Avx.IsSupported && hs % V == 0)
            for (; j + V <= t; j += V)
                for (var d = 0; d < hs; d += V) Transpose8(rows + j * hs + d, hs, output + d * tp + j, tp);
        for (; j < t; j++)
            for (var d = 0; d < hs; d++) output[d * tp + j] = rows[j * hs + d];
        for (var d = 0; d < hs; d++)
            for (j = t; j < tp; j++) output[d * tp + j] = 0;
    }

    /// <summary>One 8 × 8 block: row r of <paramref name="x"/> (stride <paramref name="xStride"/>) becomes column r of <paramref name="y"/>.</summary>
    private static void Transpose8(float* x, int xStride, float* y, int yStride)
    {
        var (r0, r1, r2, r3) = (Avx.LoadVector256(x), Avx.LoadVector256(x + xStride), Avx.LoadVector256(x + 2 * xStride), Avx.LoadVector256(x + 3 * xStride));
        var (r4, r5, r6, r7) = (Avx.LoadVector256(x + 4 * xStride), Avx.LoadVector256(x + 5 * xStride), Avx.LoadVector256(x + 6 * xStride), Avx.LoadVector256(x + 7 * xStride));
        var (t0, t1, t2, t3) = (Avx.UnpackLow(r0, r1), Avx.UnpackHigh(r0, r1), Avx.UnpackLow(r2, r3), Avx.UnpackHigh(r2, r3));
        var (t4, t5, t6, t7) = (Avx.UnpackLow(r4, r5), Avx.UnpackHigh(r4, r5), Avx.UnpackLow(r6, r7), Avx.UnpackHigh(r6, r7));
        var (u0, u1, u2, u3) = (Avx.Shuffle(t0, t2, 0x44), Avx.Shuffle(t0, t2, 0xEE), Avx.Shuffle(t1, t3, 0x44), Avx.Shuffle(t1, t3, 0xEE));
        var (u4, u5, u6, u7) = (Avx.Shuffle(t4, t6, 0x44), Avx.Shuffle(t4, t6, 0xEE), Avx.Shuffle(t5, t7, 0x44), Avx.Shuffle(t5, t7, 0xEE));
        Avx.Store(y, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(y + yStride, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(y + 2 * yStride, Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(y + 3 * yStride, Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(y + 4 * yStride, Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(y + 5 * yStride, Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(y + 6 * yStride, Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(y + 7 * yStride, Avx.Permute2x128(u3, u7, 0x31));
    }

}
