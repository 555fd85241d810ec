using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TorchSharp;
using static TorchSharp.torch;

namespace Ponder.Policy;

/// <summary>
/// The element-wise steps and the attention of a decode step on the CPU, in C# on the tensors' memory: RMS norm, rotary
/// positions, SiLU-gating and cached attention, each one call instead of the three to six libtorch calls it takes there
/// (at one row a decode step of a small model is mostly libtorch's per-call cost; at a large batch, attention over the
/// cache). The callers decide what a decode step is: at most four tokens in all (<see cref="SmallRowLinear"/> runs the
/// linears too), or at most four tokens a row of any batch (libtorch keeps the linears).
/// </summary>
/// <remarks>
/// Inference only, like <see cref="SmallRowLinear"/>: <see cref="Plain"/> says when a tensor qualifies (no gradients,
/// CPU, float32, contiguous). Results match libtorch's within rounding (other summation orders; a vectorized exp).
/// </remarks>
internal static class SmallRowOps
{
    /// <summary>
    /// The memory of a contiguous CPU tensor (libtorch's, which does not move while the tensor lives); zero for none. Read
    /// from libtorch itself: TorchSharp's <c>Tensor.bytes</c> is a span, which refuses tensors over 2 GiB (a large model's
    /// embedding, a long KV cache).
    /// </summary>
    internal static nint Address(Tensor? t) => t is null ? 0 : TensorData(t.Handle);

    [DllImport("LibTorchSharp", EntryPoint = "THSTensor_data")]
    private static extern nint TensorData(nint tensor);

    /// <summary>Whether <paramref name="t"/> is a non-empty contiguous float32 CPU tensor of rows of <paramref name="width"/>, with gradients off.</summary>
    public static bool Plain(Tensor t, long width) =>
        !is_grad_enabled() && t.device_type == DeviceType.CPU && t.dtype == ScalarType.Float32 && t.is_contiguous()
        && t.size(-1) == width && t.numel() > 0;

    /// <summary>
    /// <c>LlamaRMSNorm</c> of x (…, C) with gain (C): x · rsqrt(mean(x²) + eps) · gain, per row. Check <see cref="Plain"/>
    /// for x and gain first.
    /// </summary>
    public static unsafe Tensor RmsNorm(Tensor x, Tensor gain, double eps)
    {
        var c = (int)x.size(-1);
        var rows = (int)(x.numel() / c);
        var output = empty(x.shape, ScalarType.Float32);                              // (…, C)
        float* xp = (float*)Address(x), gp = (float*)Address(gain), yp = (float*)Address(output);
        for (var r = 0; r < rows; r++, xp += c, yp += c) RmsNormRow(xp, gp, (float)eps, yp, c);
        GC.KeepAlive(x);
        GC.KeepAlive(gain);
        return output;
    }

    /// <summary>
    /// y = x · rsqrt(mean(x²) + eps) · gain over one row of <paramref name="c"/> elements (y may be x); returns the
    /// rsqrt factor (the training node keeps it for its backward pass).
    /// </summary>
    internal static unsafe float RmsNormRow(float* x, float* gain, float eps, float* y, int c)
    {
        var inverse = 1f / MathF.Sqrt(SumOfSquares(x, c) / c + eps);
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i <= c - Vector256<float>.Count; i += Vector256<float>.Count)
                (Vector256.Load(x + i) * inverse * Vector256.Load(gain + i)).Store(y + i);
        for (; i < c; i++) y[i] = x[i] * inverse * gain[i];
        return inverse;
    }

    /// <summary>
    /// Rotates the first <paramref name="heads"/> heads of each row of <paramref name="qkv"/> (B, T, H·hs) in place:
    /// x·cos + rotate_half(x)·sin, with the table rows (B or 1, 1, T, hs) of <see cref="Rotary.Lookup"/> (whose sine
    /// carries rotate_half's sign). The same as <see cref="Rotary.Apply"/> on those heads. Check <see cref="Plain"/> for
    /// qkv and that cos and sin are contiguous float32 CPU tensors first.
    /// </summary>
    public static unsafe void RotaryInPlace(Tensor qkv, int heads, int headDim, Tensor cos, Tensor signedSin)
    {
        var (b, t, width) = ((int)qkv.size(0), (int)qkv.size(1), (int)qkv.size(2));
        var tableBatch = (int)cos.size(0);
        byte* qb = (byte*)Address(qkv), cb = (byte*)Address(cos), sb = (byte*)Address(signedSin);
        for (var row = 0; row < b * t; row++)
        {
            var tableRow = tableBatch == 1 ? row % t : row;
            float* c = (float*)cb + (long)tableRow * headDim, s = (float*)sb + (long)tableRow * headDim;
            RotateHeads((float*)qb + (long)row * width, heads, headDim, c, s);
        }
        GC.KeepAlive(qkv);
        GC.KeepAlive(cos);
        GC.KeepAlive(signedSin);
    }

    /// <summary>
    /// Rotates <paramref name="heads"/> consecutive heads at <paramref name="x"/> in place with one position's table rows
    /// (the training node's rotation at scale 1, which changes no value).
    /// </summary>
    internal static unsafe void RotateHeads(float* x, int heads, int headDim, float* c, float* s)
    {
        for (var h = 0; h < heads; h++, x += headDim) CausalAttentionKernel.Rotate(x, c, s, x, headDim, 1f);
    }

    /// <summary>silu(gate) · up for gateUp (…, 2I) = [gate, up] → (…, I). Check <see cref="Plain"/> first.</summary>
    public static unsafe Tensor SiluGate(Tensor gateUp)
    {
        var width = (int)gateUp.size(-1);
        var n = width / 2;
        var rows = (int)(gateUp.numel() / width);
        var shape = gateUp.shape;
        shape[^1] = n;
        var output = empty(shape, ScalarType.Float32);                                // (…, I)
        float* g = (float*)Address(gateUp), y = (float*)Address(output);
        for (var r = 0; r < rows; r++, g += width, y += n) SiluGateRow(g, g + n, y, n);
        GC.KeepAlive(gateUp);
        return output;
    }

    /// <summary>y = silu(gate) · up over <paramref name="n"/> elements.</summary>
    internal static unsafe void SiluGateRow(float* g, float* u, float* y, int n)
    {
        var i = 0;
        if (Vector512.IsHardwareAccelerated)                                         // the same values as eight at a time, bit for bit
            for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var gv = Vector512.Load(g + i);
                (gv / (Vector512<float>.One + Vector512.Exp(-gv)) * Vector512.Load(u + i)).Store(y + i);
            }
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var gv = Vector256.Load(g + i);
                (gv / (Vector256<float>.One + Vector256.Exp(-gv)) * Vector256.Load(u + i)).Store(y + i);
            }
        }
        for (; i < n; i++) y[i] = g[i] / (1f + MathF.Exp(-g[i])) * u[i];
    }

    /// <summary>Whether <see cref="CachedAttention"/> can use <paramref name="cache"/>'s buffers of <paramref name="layer"/> and <paramref name="mask"/>.</summary>
    public static bool CachedAttentionFits(KvCache cache, int layer, Tensor mask)
    {
        var (keys, values, _, _) = cache.Buffers(layer);
        return keys.device_type == DeviceType.CPU && keys.dtype is ScalarType.Float32 or ScalarType.BFloat16
            && values.dtype == keys.dtype && keys.is_contiguous() && values.is_contiguous()
            && mask.device_type == DeviceType.CPU && mask.dtype == ScalarType.Float32 && mask.is_contiguous();
    }

    /// <summary>
    /// A decode step's attention, for any number of rows: writes the new keys and values of <paramref name="qkv"/>
    /// (B, T, (nh+2·nkv)·hs; q and k already rotated) into columns [start, start + T) of the cache buffers
    /// (B, nkv, cap, hs), then attends each query head h to kv head h / (nh / nkv) over columns [0, start + T) with
    /// softmax(q·kᵀ / √hs + mask) and returns the weighted values (B, T, nh·hs), the heads side by side (what o_proj
    /// reads). <paramref name="mask"/> is the additive (B, 1, g·T, S) mask of <see cref="Transformer"/>'s cached path
    /// (0 or −∞; its rows for the g query groups are copies, so row t serves every head). The same as the
    /// <see cref="KvCache.Write"/> + scaled_dot_product_attention path, within rounding. Rows are split over
    /// <paramref name="threads"/> (0: the torch thread count once the step is large enough); the split changes no result.
    /// </summary>
    public static unsafe Tensor CachedAttention(Tensor qkv, int heads, int kvHeads, int headDim, Tensor keys, Tensor values, int start, Tensor mask, int threads = 0)
    {
        var (b, t) = ((int)qkv.size(0), (int)qkv.size(1));
        Interlocked.Increment(ref _attentionCalls);
        var output = empty([b, t, heads * headDim], ScalarType.Float32);               // (B, T, nh·hs)
        var job = new AttentionJob(Address(qkv), Address(keys), Address(values), Address(mask), Address(output), t, heads, kvHeads, headDim,
            (int)keys.size(2), start, (int)mask.size(2), (int)mask.size(3));
        // Rows are independent: split them over the threads once a step reads enough of the cache to pay for it.
        var work = (long)b * t * heads * (start + t) * headDim;
        if (threads <= 0) threads = work >= ParallelAttentionWork ? Math.Max(1, get_num_threads()) : 1;
        threads = Math.Min(threads, b);
        var bf16 = keys.dtype == ScalarType.BFloat16;
        void Rows(int first, int end) => AttendRows(job, bf16, first, end);
        if (threads <= 1) Rows(0, b);
        else
            RowWorkers.For(threads, part => Rows((int)((long)b * part / threads), (int)((long)b * (part + 1) / threads)));
        GC.KeepAlive(qkv);
        GC.KeepAlive(keys);
        GC.KeepAlive(values);
        GC.KeepAlive(mask);
        return output;
    }

    private static long _attentionCalls;

    /// <summary>Cached attention steps computed in C# so far in this process (tests check which path a decode step took).</summary>
    public static long AttentionCalls => Interlocked.Read(ref _attentionCalls);

    /// <summary>Multiply-adds of a step's attention (rows × tokens × heads × columns × head size) above which its rows are split over threads.</summary>
    internal const long ParallelAttentionWork = 1 << 16;

    /// <summary>
    /// Where a step's attention reads and writes: q/k/v rows (B, T, (nh+2·nkv)·hs), the layer's cache buffers
    /// (B, nkv, Capacity, hs), the additive mask (B, 1, MaskRows, MaskColumns) and the output (B, T, nh·hs). With
    /// <paramref name="CacheRows"/> (int*, one per row) row r's keys and values are the cache's row CacheRows[r].
    /// </summary>
    internal readonly record struct AttentionJob(nint Qkv, nint Keys, nint Values, nint Mask, nint Output, int T, int Heads,
        int KvHeads, int HeadDim, int Capacity, int Start, int MaskRows, int MaskColumns, nint CacheRows = 0);

    /// <summary>How the cache stores a key or value element: loads widen to float32, writes round from it.</summary>
    private interface IKvElement
    {
        static abstract int Bytes { get; }

        /// <summary>Eight elements from <paramref name="p"/>, as float32.</summary>
        static abstract unsafe Vector256<float> Load8(byte* p);

        static abstract unsafe float Load(byte* p);

        /// <summary>Stores <paramref name="n"/> float32 values at <paramref name="to"/>.</summary>
        static abstract unsafe void Store(float* from, byte* to, int n);
    }

    private readonly struct F32Kv : IKvElement
    {
        public static int Bytes => 4;

        public static unsafe Vector256<float> Load8(byte* p) => Vector256.Load((float*)p);

        public static unsafe float Load(byte* p) => *(float*)p;

        public static unsafe void Store(float* from, byte* to, int n) => new Span<float>(from, n).CopyTo(new Span<float>(to, n));
    }

    /// <summary>bfloat16: the top half of a float32, rounded to nearest even on write, as libtorch's conversion does.</summary>
    private readonly struct Bf16Kv : IKvElement
    {
        public static int Bytes => 2;

        public static unsafe Vector256<float> Load8(byte* p)
        {
            if (Avx2.IsSupported) return Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32((ushort*)p), 16).AsSingle();
            var raw = Vector128.Load((ushort*)p);
            return (Vector256.Create(Vector128.WidenLower(raw), Vector128.WidenUpper(raw)) << 16).AsSingle();
        }

        public static unsafe float Load(byte* p) => BitConverter.Int32BitsToSingle(*(ushort*)p << 16);

        public static unsafe void Store(float* from, byte* to, int n)
        {
            var target = (ushort*)to;
            var i = 0;
            if (Vector256.IsHardwareAccelerated)
                for (; i + 16 <= n; i += 16)
                    Vector256.Narrow(Round(Vector256.Load(from + i)), Round(Vector256.Load(from + i + 8))).Store(target + i);
            for (; i < n; i++) target[i] = Round(from[i]);
        }

        // Round's arithmetic on eight floats at once (the result in each element's low 16 bits).
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector256<uint> Round(Vector256<float> x)
        {
            var bits = x.AsUInt32();
            var rounded = (bits + Vector256.Create(0x7FFFu) + ((bits >> 16) & Vector256<uint>.One)) >> 16;
            return Vector256.ConditionalSelect(Vector256.Equals(x, x).AsUInt32(), rounded, (bits >> 16) | Vector256.Create(0x40u));
        }

        private static ushort Round(float x)
        {
            var bits = BitConverter.SingleToUInt32Bits(x);
            if (float.IsNaN(x)) return (ushort)((bits >> 16) | 0x40);                 // keep it a NaN
            return (ushort)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
        }
    }

    /// <summary>Rows [first, end) of <paramref name="job"/>: each row's new keys and values into the cache (bfloat16 or float32), then its queries' attention.</summary>
    internal static void AttendRows(AttentionJob job, bool bf16, int first, int end)
    {
        if (bf16) AttendRows<Bf16Kv>(job, first, end);
        else AttendRows<F32Kv>(job, first, end);
    }

    [ThreadStatic] private static float[]? _longScores;

    // A thread's score row for contexts past the stack's 4,096 columns, kept for its next step (workers allocate nothing a call).
    private static Span<float> LongScores(int columns)
    {
        if (_longScores is null || _longScores.Length < columns) _longScores = new float[Math.Max(columns, 2 * (_longScores?.Length ?? 0))];
        return _longScores.AsSpan(0, columns);
    }

    private static unsafe void AttendRows<TKv>(AttentionJob job, int first, int end) where TKv : struct, IKvElement
    {
        var (t, heads, kvHeads, headDim, capacity) = (job.T, job.Heads, job.KvHeads, job.HeadDim, job.Capacity);
        var width = (heads + 2 * kvHeads) * headDim;
        var s = job.Start + t;
        var group = heads / kvHeads;
        var scale = 1f / MathF.Sqrt(headDim);
        var scoreBuffer = s <= 4096 ? stackalloc float[s] : LongScores(s);
        // A bfloat16 cache and heads of whole 32-element blocks: keys and values are read sixteen at a time as pairs.
        var pairs = TKv.Bytes == 2 && Avx2.IsSupported && Fma.IsSupported && headDim % 32 == 0 && headDim <= 1024;
        var split = stackalloc float[pairs ? headDim : 0];
        var prefetch = PrefetchKv && t == 1;
        byte* kBase = (byte*)job.Keys, vBase = (byte*)job.Values;
        byte* Column(byte* buffer, int row, int head, int column) =>
            buffer + (((long)row * kvHeads + head) * capacity + column) * headDim * TKv.Bytes;
        fixed (float* scores = scoreBuffer)
        {
            for (var row = first; row < end; row++)
            {
                var cacheRow = job.CacheRows == 0 ? row : ((int*)job.CacheRows)[row];
                for (var step = 0; step < t; step++)
                {
                    var x = (float*)job.Qkv + ((long)row * t + step) * width;
                    for (var h = 0; h < kvHeads; h++)
                    {
                        TKv.Store(x + (heads + h) * headDim, Column(kBase, cacheRow, h, job.Start + step), headDim);
                        TKv.Store(x + (heads + kvHeads + h) * headDim, Column(vBase, cacheRow, h, job.Start + step), headDim);
                    }
                }
                for (var step = 0; step < t; step++)
                {
                    var q = (float*)job.Qkv + ((long)row * t + step) * width;
                    var bias = (float*)job.Mask + ((long)row * job.MaskRows + step) * job.MaskColumns;
                    var y = (float*)job.Output + ((long)row * t + step) * heads * headDim;
                    // Columns in front that the query cannot see (a left-padded prompt, or a row that joined a server's
                    // batch late) are skipped in whole blocks of 16: every kernel below groups columns by their index
                    // modulo 16 at most, so the sums, and the results, are the same bit for bit.
                    var lead = LeadingMasked(bias, s) & ~15;
                    var seen = s - lead;
                    var visible = bias + lead;
                    for (var h = 0; h < heads; h++, q += headDim, y += headDim)
                    {
                        var kv = h / group;
                        // Decoding, the next head's keys and values (of this row, or of the next row's first head, from
                        // this row's first visible column) are asked into L2 while this head reads its own: a head's
                        // block of columns is a fresh stream that the hardware prefetchers would only pick up after its
                        // first misses. (A prefill's queries read the same blocks again, which stay in the caches.)
                        var nextRow = h + 1 < heads ? cacheRow : row + 1 < end ? (job.CacheRows == 0 ? row + 1 : ((int*)job.CacheRows)[row + 1]) : -1;
                        var nextKv = h + 1 < heads ? (h + 1) / group : 0;
                        if (prefetch && nextRow >= 0 && (nextKv != kv || nextRow != cacheRow))
                        {
                            var bytes = (long)seen * headDim * TKv.Bytes;
                            Prefetch(Column(kBase, nextRow, nextKv, lead), bytes);
                            Prefetch(Column(vBase, nextRow, nextKv, lead), bytes);
                        }
                        if (pairs)
                        {
                            var wide = WideKeyScores;
                            SplitPairs(q, split, headDim, wide ? 32 : 16);
                            var keys = Column(kBase, cacheRow, kv, lead);
                            var top = wide ? ScoresBf16Wide(split, keys, visible, scale, scores, seen, headDim) : ScoresBf16(split, keys, visible, scale, scores, seen, headDim);
                            WeightedBf16(scores, seen, Column(vBase, cacheRow, kv, lead), 1f / Exponentials(scores, seen, top), y, headDim);
                            continue;
                        }
                        var max = Scores<TKv>(q, Column(kBase, cacheRow, kv, lead), visible, scale, scores, seen, headDim);
                        var sum = Exponentials(scores, seen, max);
                        Weighted<TKv>(scores, seen, Column(vBase, cacheRow, kv, lead), 1f / sum, y, headDim);
                    }
                }
            }
        }
    }

    // scores[c] = q·keys[c]·scale + bias[c] for the columns of a contiguous (S, hs) block of keys; returns their
    // maximum. Eight columns at a time: eight independent multiply-add chains keep both FMA units busy, and one
    // horizontal-add tree turns the eight accumulators into one vector of eight scores.
    private static unsafe float Scores<TKv>(float* q, byte* keys, float* bias, float scale, float* scores, int s, int headDim)
        where TKv : struct, IKvElement
    {
        var stride = (long)headDim * TKv.Bytes;
        var c = 0;
        var max = float.NegativeInfinity;
        if (Avx.IsSupported && Fma.IsSupported && headDim % Vector256<float>.Count == 0)
        {
            var maxes = Vector256.Create(float.NegativeInfinity);
            var scales = Vector256.Create(scale);
            for (; c + 8 <= s; c += 8)
            {
                var k = keys + c * stride;
                Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
                Vector256<float> a4 = default, a5 = default, a6 = default, a7 = default;
                for (var i = 0; i < headDim; i += Vector256<float>.Count)
                {
                    var qv = Vector256.Load(q + i);
                    var p = k + i * TKv.Bytes;
                    a0 = Fma.MultiplyAdd(qv, TKv.Load8(p), a0);
                    a1 = Fma.MultiplyAdd(qv, TKv.Load8(p + stride), a1);
                    a2 = Fma.MultiplyAdd(qv, TKv.Load8(p + 2 * stride), a2);
                    a3 = Fma.MultiplyAdd(qv, TKv.Load8(p + 3 * stride), a3);
                    a4 = Fma.MultiplyAdd(qv, TKv.Load8(p + 4 * stride), a4);
                    a5 = Fma.MultiplyAdd(qv, TKv.Load8(p + 5 * stride), a5);
                    a6 = Fma.MultiplyAdd(qv, TKv.Load8(p + 6 * stride), a6);
                    a7 = Fma.MultiplyAdd(qv, TKv.Load8(p + 7 * stride), a7);
                }
                maxes = StoreEight(Sum8(a0, a1, a2, a3, a4, a5, a6, a7), scales, bias + c, scores + c, maxes);
            }
            max = Largest(maxes);
        }
        for (; c < s; c++)
        {
            var key = keys + c * stride;
            var dot = 0f;
            for (var i = 0; i < headDim; i++) dot = MathF.FusedMultiplyAdd(q[i], TKv.Load(key + i * TKv.Bytes), dot);
            scores[c] = dot * scale + bias[c];
            max = MathF.Max(max, scores[c]);
        }
        return max;
    }

    // Eight columns' scores from their dot products: sums·scale + bias stored, the running maximum returned.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe Vector256<float> StoreEight(Vector256<float> sums, Vector256<float> scales, float* bias, float* scores, Vector256<float> maxes)
    {
        var row = Fma.MultiplyAdd(sums, scales, Vector256.Load(bias));
        row.Store(scores);
        return Avx.Max(maxes, row);
    }

    // The largest of a vector's eight elements.
    private static float Largest(Vector256<float> v)
    {
        var max = float.NegativeInfinity;
        for (var j = 0; j < Vector256<float>.Count; j++) max = MathF.Max(max, v.GetElement(j));
        return max;
    }

    // The eight horizontal sums of a0 … a7, in that order, as one vector.
    private static Vector256<float> Sum8(Vector256<float> a0, Vector256<float> a1, Vector256<float> a2, Vector256<float> a3,
        Vector256<float> a4, Vector256<float> a5, Vector256<float> a6, Vector256<float> a7)
    {
        var low = Avx.HorizontalAdd(Avx.HorizontalAdd(a0, a1), Avx.HorizontalAdd(a2, a3));    // per 128-bit lane: a0..a3
        var high = Avx.HorizontalAdd(Avx.HorizontalAdd(a4, a5), Avx.HorizontalAdd(a6, a7));   // per 128-bit lane: a4..a7
        return Avx.Permute2x128(low, high, 0x20) + Avx.Permute2x128(low, high, 0x31);
    }

    // y = scale · Σ_c weights[c]·values[c] over a contiguous (S, hs) block of values. A head size that is a multiple
    // of 32 runs 32 floats at a time, two columns at a time in eight register accumulators (two independent chains
    // per output vector, so the multiply-adds' latency is hidden; no store and reload of y per column).
    private static unsafe void Weighted<TKv>(float* weights, int s, byte* values, float scale, float* y, int headDim)
        where TKv : struct, IKvElement
    {
        var stride = (long)headDim * TKv.Bytes;
        if (Fma.IsSupported && headDim % 32 == 0)
        {
            for (var i = 0; i < headDim; i += 32)
            {
                Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
                Vector256<float> b0 = default, b1 = default, b2 = default, b3 = default;
                var v = values + i * TKv.Bytes;
                var c = 0;
                for (; c + 2 <= s; c += 2, v += 2 * stride)
                {
                    var w = Vector256.Create(weights[c]);
                    var x = Vector256.Create(weights[c + 1]);
                    var u = v + stride;
                    a0 = Fma.MultiplyAdd(TKv.Load8(v), w, a0);
                    a1 = Fma.MultiplyAdd(TKv.Load8(v + 8 * TKv.Bytes), w, a1);
                    a2 = Fma.MultiplyAdd(TKv.Load8(v + 16 * TKv.Bytes), w, a2);
                    a3 = Fma.MultiplyAdd(TKv.Load8(v + 24 * TKv.Bytes), w, a3);
                    b0 = Fma.MultiplyAdd(TKv.Load8(u), x, b0);
                    b1 = Fma.MultiplyAdd(TKv.Load8(u + 8 * TKv.Bytes), x, b1);
                    b2 = Fma.MultiplyAdd(TKv.Load8(u + 16 * TKv.Bytes), x, b2);
                    b3 = Fma.MultiplyAdd(TKv.Load8(u + 24 * TKv.Bytes), x, b3);
                }
                if (c < s)
                {
                    var w = Vector256.Create(weights[c]);
                    a0 = Fma.MultiplyAdd(TKv.Load8(v), w, a0);
                    a1 = Fma.MultiplyAdd(TKv.Load8(v + 8 * TKv.Bytes), w, a1);
                    a2 = Fma.MultiplyAdd(TKv.Load8(v + 16 * TKv.Bytes), w, a2);
                    a3 = Fma.MultiplyAdd(TKv.Load8(v + 24 * TKv.Bytes), w, a3);
                }
                ((a0 + b0) * scale).Store(y + i);
                ((a1 + b1) * scale).Store(y + i + 8);
                ((a2 + b2) * scale).Store(y + i + 16);
                ((a3 + b3) * scale).Store(y + i + 24);
            }
            return;
        }
        new Span<float>(y, headDim).Clear();
        for (var c = 0; c < s; c++, values += stride)
        {
            var w = weights[c];
            if (w == 0) continue;
            var i = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                var wv = Vector256.Create(w);
                for (; i <= headDim - Vector256<float>.Count; i += Vector256<float>.Count)
                    Vector256.FusedMultiplyAdd(TKv.Load8(values + i * TKv.Bytes), wv, Vector256.Load(y + i)).Store(y + i);
            }
            for (; i < headDim; i++) y[i] = MathF.FusedMultiplyAdd(w, TKv.Load(values + i * TKv.Bytes), y[i]);
        }
        Scale(y, scale, headDim);
    }

    // q's elements of each block of `block` elements as its even elements then its odd ones (how ScoresBf16 reads keys
    // with blocks of 16, ScoresBf16Wide with blocks of 32).
    private static unsafe void SplitPairs(float* q, float* split, int headDim, int block)
    {
        var half = block / 2;
        for (var b = 0; b < headDim; b += block)
            for (var t = 0; t < half; t++)
                (split[b + t], split[b + half + t]) = (q[b + 2 * t], q[b + 2 * t + 1]);
    }

    /// <summary>
    /// Whether a bfloat16 cache's key scores take 16-float vectors (a 32-element block of a key in one load; AVX-512,
    /// where the JIT has it). Not the same rounding as the 8-float loop: each dot product sums its two halves at the
    /// end instead of in one chain (the same to a few units of the last place; tests compare the two).
    /// </summary>
    internal static bool WideKeyScores { get; set; } = Vector512.IsHardwareAccelerated;

    /// <summary>
    /// Whether cached attention asks the next head's keys and values into L2 while a head attends (the default): the
    /// same results either way; the benchmark's <c>--kv-prefetch</c> compares the two.
    /// </summary>
    internal static bool PrefetchKv { get; set; } = Sse.IsSupported;

    // Asks the first `bytes` from `p` on into L2, a cache line (64 bytes) at a time, at most PrefetchBytes: past the start
    // of a long block the hardware prefetchers have the stream, and more requests would only crowd out the lines in use.
    private static unsafe void Prefetch(byte* p, long bytes)
    {
        if (!Sse.IsSupported) return;
        for (long offset = 0, end = Math.Min(bytes, PrefetchBytes); offset < end; offset += 64) Sse.Prefetch1(p + offset);
    }

    private const long PrefetchBytes = 16 << 10;

    // Pairs on 32 bfloat16 elements: the 16 even ones and the 16 odd ones as float vectors.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe (Vector512<float> Even, Vector512<float> Odd) WidePairs(byte* p)
    {
        var raw = Vector512.Load((uint*)p);
        return ((raw << 16).AsSingle(), (raw & Vector512.Create(0xFFFF0000u)).AsSingle());
    }

    // ScoresBf16 on 16-float vectors: q split by SplitPairs in blocks of 32; each column's 32-element blocks in one load
    // each, eight columns at a time; the two halves of each column's accumulator added before the eight-column sum.
    private static unsafe float ScoresBf16Wide(float* split, byte* keys, float* bias, float scale, float* scores, int s, int headDim)
    {
        var stride = (long)headDim * 2;
        var c = 0;
        var maxes = Vector256.Create(float.NegativeInfinity);
        var scales = Vector256.Create(scale);
        for (; c + 8 <= s; c += 8)
        {
            var k = keys + c * stride;
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            Vector512<float> a4 = default, a5 = default, a6 = default, a7 = default;
            for (var b = 0; b < headDim; b += 32)
            {
                var (qe, qo) = (Vector512.Load(split + b), Vector512.Load(split + b + 16));
                var p = k + b * 2;
                var (e, o) = WidePairs(p);
                a0 = Vector512.FusedMultiplyAdd(qo, o, Vector512.FusedMultiplyAdd(qe, e, a0));
                (e, o) = WidePairs(p + stride);
                a1 = Vector512.FusedMultiplyAdd(qo, o, Vector512.FusedMultiplyAdd(qe, e, a1));
                (e, o) = WidePairs(p + 2 * stride);
                a2 = Vector512.FusedMultiplyAdd(qo, o, Vector512.FusedMultiplyAdd(qe, e, a2));
                (e, o) = WidePairs(p + 3 * stride);
                a3 = Vector512.FusedMultiplyAdd(qo, o, Vector512.FusedMultiplyAdd(qe, e, a3));
                (e, o) = WidePairs(p + 4 * stride);
                a4 = Vector512.FusedMultiplyAdd(qo, o, Vector512.FusedMultiplyAdd(qe, e, a4));
                (e, o) = WidePairs(p + 5 * stride);
                a5 = Vector512.FusedMultiplyAdd(qo, o, Vector512.FusedMultiplyAdd(qe, e, a5));
                (e, o) = WidePairs(p + 6 * stride);
                a6 = Vector512.FusedMultiplyAdd(qo, o, Vector512.FusedMultiplyAdd(qe, e, a6));
                (e, o) = WidePairs(p + 7 * stride);
                a7 = Vector512.FusedMultiplyAdd(qo, o, Vector512.FusedMultiplyAdd(qe, e, a7));
            }
            maxes = StoreEight(Sum8(Halves(a0), Halves(a1), Halves(a2), Halves(a3), Halves(a4), Halves(a5), Halves(a6), Halves(a7)),
                scales, bias + c, scores + c, maxes);
        }
        var max = Largest(maxes);
        for (; c < s; c++)
        {
            var key = keys + c * stride;
            var acc = Vector512<float>.Zero;
            for (var b = 0; b < headDim; b += 32)
            {
                var (e, o) = WidePairs(key + b * 2);
                acc = Vector512.FusedMultiplyAdd(Vector512.Load(split + b + 16), o, Vector512.FusedMultiplyAdd(Vector512.Load(split + b), e, acc));
            }
            scores[c] = Vector256.Sum(Halves(acc)) * scale + bias[c];
            max = MathF.Max(max, scores[c]);
        }
        return max;
    }

    // A 16-float vector's lower and upper halves added.
    private static Vector256<float> Halves(Vector512<float> v) => v.GetLower() + v.GetUpper();

    // Sixteen bfloat16 elements as two float vectors: the even elements (the low halves of each 32-bit pair, shifted up)
    // and the odd ones (the high halves, masked): one load, two integer ops, no widening load.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe (Vector256<float> Even, Vector256<float> Odd) Pairs(byte* p)
    {
        var raw = Vector256.Load((uint*)p);
        return ((raw << 16).AsSingle(), (raw & Vector256.Create(0xFFFF0000u)).AsSingle());
    }

    // Scores<Bf16Kv> on pairs: q split by SplitPairs; eight columns at a time as there. headDim % 32 == 0.
    private static unsafe float ScoresBf16(float* split, byte* keys, float* bias, float scale, float* scores, int s, int headDim)
    {
        var stride = (long)headDim * 2;
        var c = 0;
        var maxes = Vector256.Create(float.NegativeInfinity);
        var scales = Vector256.Create(scale);
        for (; c + 8 <= s; c += 8)
        {
            var k = keys + c * stride;
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            Vector256<float> a4 = default, a5 = default, a6 = default, a7 = default;
            for (var b = 0; b < headDim; b += 16)
            {
                var (qe, qo) = (Vector256.Load(split + b), Vector256.Load(split + b + 8));
                var p = k + b * 2;
                var (e, o) = Pairs(p);
                a0 = Fma.MultiplyAdd(qo, o, Fma.MultiplyAdd(qe, e, a0));
                (e, o) = Pairs(p + stride);
                a1 = Fma.MultiplyAdd(qo, o, Fma.MultiplyAdd(qe, e, a1));
                (e, o) = Pairs(p + 2 * stride);
                a2 = Fma.MultiplyAdd(qo, o, Fma.MultiplyAdd(qe, e, a2));
                (e, o) = Pairs(p + 3 * stride);
                a3 = Fma.MultiplyAdd(qo, o, Fma.MultiplyAdd(qe, e, a3));
                (e, o) = Pairs(p + 4 * stride);
                a4 = Fma.MultiplyAdd(qo, o, Fma.MultiplyAdd(qe, e, a4));
                (e, o) = Pairs(p + 5 * stride);
                a5 = Fma.MultiplyAdd(qo, o, Fma.MultiplyAdd(qe, e, a5));
                (e, o) = Pairs(p + 6 * stride);
                a6 = Fma.MultiplyAdd(qo, o, Fma.MultiplyAdd(qe, e, a6));
                (e, o) = Pairs(p + 7 * stride);
                a7 = Fma.MultiplyAdd(qo, o, Fma.MultiplyAdd(qe, e, a7));
            }
            maxes = StoreEight(Sum8(a0, a1, a2, a3, a4, a5, a6, a7), scales, bias + c, scores + c, maxes);
        }
        var max = Largest(maxes);
        for (; c < s; c++)
        {
            var key = keys + c * stride;
            var acc = Vector256<float>.Zero;
            for (var b = 0; b < headDim; b += 16)
            {
                var (e, o) = Pairs(key + b * 2);
                acc = Fma.MultiplyAdd(Vector256.Load(split + b + 8), o, Fma.MultiplyAdd(Vector256.Load(split + b), e, acc));
            }
            scores[c] = Vector256.Sum(acc) * scale + bias[c];
            max = MathF.Max(max, scores[c]);
        }
        return max;
    }

    // Weighted<Bf16Kv> on pairs: 32 elements (two blocks of even and odd) at a time, two columns at a time in eight
    // accumulators, the even and odd sums interleaved back into order once at the end. headDim % 32 == 0.
    private static unsafe void WeightedBf16(float* weights, int s, byte* values, float scale, float* y, int headDim)
    {
        if (Vector512.IsHardwareAccelerated) WeightedBf16Wide(weights, s, values, scale, y, headDim);
        else WeightedBf16Narrow(weights, s, values, scale, y, headDim);
    }

    internal static unsafe void WeightedBf16Narrow(float* weights, int s, byte* values, float scale, float* y, int headDim)
    {
        var stride = (long)headDim * 2;
        for (var i = 0; i < headDim; i += 32)
        {
            Vector256<float> e0 = default, o0 = default, e1 = default, o1 = default;
            Vector256<float> f0 = default, p0 = default, f1 = default, p1 = default;
            var v = values + i * 2;
            var c = 0;
            for (; c + 2 <= s; c += 2, v += 2 * stride)
            {
                var (w, x) = (Vector256.Create(weights[c]), Vector256.Create(weights[c + 1]));
                var (a, b) = Pairs(v);
                (e0, o0) = (Fma.MultiplyAdd(a, w, e0), Fma.MultiplyAdd(b, w, o0));
                (a, b) = Pairs(v + 32);
                (e1, o1) = (Fma.MultiplyAdd(a, w, e1), Fma.MultiplyAdd(b, w, o1));
                (a, b) = Pairs(v + stride);
                (f0, p0) = (Fma.MultiplyAdd(a, x, f0), Fma.MultiplyAdd(b, x, p0));
                (a, b) = Pairs(v + stride + 32);
                (f1, p1) = (Fma.MultiplyAdd(a, x, f1), Fma.MultiplyAdd(b, x, p1));
            }
            if (c < s)
            {
                var w = Vector256.Create(weights[c]);
                var (a, b) = Pairs(v);
                (e0, o0) = (Fma.MultiplyAdd(a, w, e0), Fma.MultiplyAdd(b, w, o0));
                (a, b) = Pairs(v + 32);
                (e1, o1) = (Fma.MultiplyAdd(a, w, e1), Fma.MultiplyAdd(b, w, o1));
            }
            Interleave((e0 + f0) * scale, (o0 + p0) * scale, y + i);
            Interleave((e1 + f1) * scale, (o1 + p1) * scale, y + i + 16);
        }
    }

    // WeightedBf16 on 16-float vectors: a whole 32-element block of a column in one load, its two halves in the lanes
    // that the 8-float loop keeps in two accumulators, so every output is the same chain of multiply-adds (the same
    // values, bit for bit) from half the loads and splits.
    internal static unsafe void WeightedBf16Wide(float* weights, int s, byte* values, float scale, float* y, int headDim)
    {
        var stride = (long)headDim * 2;
        for (var i = 0; i < headDim; i += 32)
        {
            Vector512<float> e = default, o = default, f = default, p = default;
            var v = values + i * 2;
            var c = 0;
            for (; c + 2 <= s; c += 2, v += 2 * stride)
            {
                var (w, x) = (Vector512.Create(weights[c]), Vector512.Create(weights[c + 1]));
                var (a, b) = WidePairs(v);
                (e, o) = (Vector512.FusedMultiplyAdd(a, w, e), Vector512.FusedMultiplyAdd(b, w, o));
                (a, b) = WidePairs(v + stride);
                (f, p) = (Vector512.FusedMultiplyAdd(a, x, f), Vector512.FusedMultiplyAdd(b, x, p));
            }
            if (c < s)
            {
                var w = Vector512.Create(weights[c]);
                var (a, b) = WidePairs(v);
                (e, o) = (Vector512.FusedMultiplyAdd(a, w, e), Vector512.FusedMultiplyAdd(b, w, o));
            }
            var (even, odd) = ((e + f) * scale, (o + p) * scale);
            Interleave(even.GetLower(), odd.GetLower(), y + i);
            Interleave(even.GetUpper(), odd.GetUpper(), y + i + 16);
        }
    }

    // Sixteen floats in order from their even and odd elements (per 128-bit lane the unpacks give 0–3 | 8–11 and
    // 4–7 | 12–15).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Interleave(Vector256<float> even, Vector256<float> odd, float* y)
    {
        var (low, high) = (Avx.UnpackLow(even, odd), Avx.UnpackHigh(even, odd));
        Avx.Permute2x128(low, high, 0x20).Store(y);
        Avx.Permute2x128(low, high, 0x31).Store(y + 8);
    }

    // p[c] ← exp(p[c] − max) over n scores whose maximum is max (vectorized exp); returns their sum.
    // How many of the first of n additive mask entries are −∞ (columns a query cannot see), up to the first it can.
    private static unsafe int LeadingMasked(float* bias, int n)
    {
        var c = 0;
        while (c < n && float.IsNegativeInfinity(bias[c])) c++;
        return c;
    }

    private static unsafe float Exponentials(float* p, int n, float max)
    {
        var sum = 0f;
        var c = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var m = Vector256.Create(max);
            var acc = Vector256<float>.Zero;
            if (Vector512.IsHardwareAccelerated)                                     // sixteen exponentials at a time, summed in the same order
            {
                var m512 = Vector512.Create(max);
                for (; c <= n - Vector512<float>.Count; c += Vector512<float>.Count)
                {
                    var e = Vector512.Exp(Vector512.Load(p + c) - m512);
                    e.Store(p + c);
                    acc += e.GetLower();
                    acc += e.GetUpper();
                }
            }
            for (; c <= n - Vector256<float>.Count; c += Vector256<float>.Count)
            {
                var e = Vector256.Exp(Vector256.Load(p + c) - m);
                e.Store(p + c);
                acc += e;
            }
            sum = Vector256.Sum(acc);
        }
        for (; c < n; c++) sum += p[c] = MathF.Exp(p[c] - max);
        return sum;
    }

    // y *= a over n elements.
    internal static unsafe void Scale(float* y, float a, int n)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
                (Vector256.Load(y + i) * a).Store(y + i);
        for (; i < n; i++) y[i] *= a;
    }

    internal static unsafe float SumOfSquares(float* x, int n)
    {
        var i = 0;
        var sum = 0f;
        if (Vector256.IsHardwareAccelerated)
        {
            var acc = Vector256<float>.Zero;
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var v = Vector256.Load(x + i);
                acc = Vector256.FusedMultiplyAdd(v, v, acc);
            }
            sum = Vector256.Sum(acc);
        }
        for (; i < n; i++) sum += x[i] * x[i];
        return sum;
    }
}
