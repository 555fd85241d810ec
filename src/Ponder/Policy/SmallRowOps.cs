using System.Runtime.Intrinsics;
using TorchSharp;
using static TorchSharp.torch;

namespace Ponder.Policy;

/// <summary>
/// The element-wise steps of a decode layer for a few rows (at most <see cref="SmallRowLinear.MaxRows"/>) on the CPU,
/// in C# on the tensors' memory: RMS norm, rotary positions and SiLU-gating, each one call instead of the three to
/// six libtorch calls it takes there (at one row a decode step of a small model is mostly libtorch's per-call cost).
/// </summary>
/// <remarks>
/// Inference only, like <see cref="SmallRowLinear"/>: <see cref="Fits"/> says when a tensor qualifies (no gradients,
/// CPU, float32, contiguous, few rows). Results match libtorch's within rounding (other summation orders; a
/// vectorized exp).
/// </remarks>
internal static class SmallRowOps
{
    /// <summary>Whether <paramref name="t"/> is a contiguous float32 CPU tensor of at most four rows of <paramref name="width"/>, with gradients off.</summary>
    public static bool Fits(Tensor t, long width) =>
        !is_grad_enabled() && t.device_type == DeviceType.CPU && t.dtype == ScalarType.Float32 && t.is_contiguous()
        && t.size(-1) == width && t.numel() > 0 && t.numel() <= SmallRowLinear.MaxRows * width;

    /// <summary>
    /// <c>LlamaRMSNorm</c> of x (…, C) with gain (C): x · rsqrt(mean(x²) + eps) · gain, per row. Check <see cref="Fits"/>
    /// for x and gain first.
    /// </summary>
    public static unsafe Tensor RmsNorm(Tensor x, Tensor gain, double eps)
    {
        var c = (int)x.size(-1);
        var rows = (int)(x.numel() / c);
        var output = empty(x.shape, ScalarType.Float32);                              // (…, C)
        fixed (byte* xb = x.bytes, gb = gain.bytes, yb = output.bytes)
        {
            float* xp = (float*)xb, gp = (float*)gb, yp = (float*)yb;
            for (var r = 0; r < rows; r++, xp += c, yp += c)
            {
                var inverse = 1f / MathF.Sqrt(SumOfSquares(xp, c) / c + (float)eps);
                var i = 0;
                if (Vector256.IsHardwareAccelerated)
                    for (; i <= c - Vector256<float>.Count; i += Vector256<float>.Count)
                        (Vector256.Load(xp + i) * inverse * Vector256.Load(gp + i)).Store(yp + i);
                for (; i < c; i++) yp[i] = xp[i] * inverse * gp[i];
            }
        }
        return output;
    }

    /// <summary>
    /// Rotates the first <paramref name="heads"/> heads of each row of <paramref name="qkv"/> (B, T, H·hs) in place:
    /// x·cos + rotate_half(x)·sin, with the table rows (B or 1, 1, T, hs) of <see cref="Rotary.Lookup"/> (whose sine
    /// carries rotate_half's sign). The same as <see cref="Rotary.Apply"/> on those heads. Check <see cref="Fits"/> for
    /// qkv and that cos and sin are contiguous float32 CPU tensors first.
    /// </summary>
    public static unsafe void RotaryInPlace(Tensor qkv, int heads, int headDim, Tensor cos, Tensor signedSin)
    {
        var (b, t, width) = ((int)qkv.size(0), (int)qkv.size(1), (int)qkv.size(2));
        var tableBatch = (int)cos.size(0);
        var half = headDim / 2;
        fixed (byte* qb = qkv.bytes, cb = cos.bytes, sb = signedSin.bytes)
        {
            for (var row = 0; row < b * t; row++)
            {
                var tableRow = tableBatch == 1 ? row % t : row;
                float* c = (float*)cb + (long)tableRow * headDim, s = (float*)sb + (long)tableRow * headDim;
                var x = (float*)qb + (long)row * width;
                for (var h = 0; h < heads; h++, x += headDim)
                {
                    for (var i = 0; i < half; i++)
                    {
                        var (x1, x2) = (x[i], x[i + half]);
                        x[i] = x1 * c[i] + x2 * s[i];
                        x[i + half] = x2 * c[i + half] + x1 * s[i + half];
                    }
                }
            }
        }
    }

    /// <summary>silu(gate) · up for gateUp (…, 2I) = [gate, up] → (…, I). Check <see cref="Fits"/> first.</summary>
    public static unsafe Tensor SiluGate(Tensor gateUp)
    {
        var width = (int)gateUp.size(-1);
        var n = width / 2;
        var rows = (int)(gateUp.numel() / width);
        var shape = gateUp.shape;
        shape[^1] = n;
        var output = empty(shape, ScalarType.Float32);                                // (…, I)
        fixed (byte* gb = gateUp.bytes, yb = output.bytes)
        {
            float* g = (float*)gb, y = (float*)yb;
            for (var r = 0; r < rows; r++, g += width, y += n)
            {
                var u = g + n;
                var i = 0;
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
        }
        return output;
    }

    /// <summary>Whether <see cref="CachedAttention"/> can use <paramref name="cache"/>'s buffers of <paramref name="layer"/> and <paramref name="mask"/>.</summary>
    public static bool CachedAttentionFits(KvCache cache, int layer, Tensor mask)
    {
        var (keys, values, _, _) = cache.Buffers(layer);
        return keys.device_type == DeviceType.CPU && keys.dtype == ScalarType.Float32 && keys.is_contiguous() && values.is_contiguous()
            && mask.device_type == DeviceType.CPU && mask.dtype == ScalarType.Float32 && mask.is_contiguous();
    }

    /// <summary>
    /// A decode step's attention for a few rows: writes the new keys and values of <paramref name="qkv"/>
    /// (B, T, (nh+2·nkv)·hs; q and k already rotated) into columns [start, start + T) of the cache buffers
    /// (B, nkv, cap, hs), then attends each query head h to kv head h / (nh / nkv) over columns [0, start + T) with
    /// softmax(q·kᵀ / √hs + mask) and returns the weighted values (B, T, nh·hs), the heads side by side (what o_proj
    /// reads). <paramref name="mask"/> is the additive (B, 1, g·T, S) mask of <see cref="Transformer"/>'s cached path
    /// (0 or −∞; its rows for the g query groups are copies, so row t serves every head). The same as the
    /// <see cref="KvCache.Write"/> + scaled_dot_product_attention path, within rounding.
    /// </summary>
    public static unsafe Tensor CachedAttention(Tensor qkv, int heads, int kvHeads, int headDim, Tensor keys, Tensor values, int start, Tensor mask)
    {
        var (b, t) = ((int)qkv.size(0), (int)qkv.size(1));
        var width = (heads + 2 * kvHeads) * headDim;
        var capacity = (int)keys.size(2);
        var s = start + t;
        var (maskRows, maskColumns) = ((int)mask.size(2), (int)mask.size(3));
        var group = heads / kvHeads;
        var scale = 1f / MathF.Sqrt(headDim);
        var output = empty([b, t, heads * headDim], ScalarType.Float32);               // (B, T, nh·hs)
        Span<float> scores = s <= 4096 ? stackalloc float[s] : new float[s];
        fixed (byte* qb = qkv.bytes, kb = keys.bytes, vb = values.bytes, mb = mask.bytes, yb = output.bytes)
        {
            float* kBase = (float*)kb, vBase = (float*)vb;
            float* Column(float* buffer, int row, int head, int column) => buffer + (((long)row * kvHeads + head) * capacity + column) * headDim;
            for (var row = 0; row < b; row++)
                for (var step = 0; step < t; step++)
                {
                    var x = (float*)qb + ((long)row * t + step) * width;
                    for (var h = 0; h < kvHeads; h++)
                    {
                        new Span<float>(x + (heads + h) * headDim, headDim).CopyTo(new Span<float>(Column(kBase, row, h, start + step), headDim));
                        new Span<float>(x + (heads + kvHeads + h) * headDim, headDim).CopyTo(new Span<float>(Column(vBase, row, h, start + step), headDim));
                    }
                }
            for (var row = 0; row < b; row++)
                for (var step = 0; step < t; step++)
                {
                    var q = (float*)qb + ((long)row * t + step) * width;
                    var bias = (float*)mb + ((long)row * maskRows + step) * maskColumns;
                    var y = (float*)yb + ((long)row * t + step) * heads * headDim;
                    for (var h = 0; h < heads; h++, q += headDim, y += headDim)
                    {
                        var kv = h / group;
                        var max = float.NegativeInfinity;
                        for (var c = 0; c < s; c++)
                        {
                            scores[c] = SmallRowLinear.Dot(q, Column(kBase, row, kv, c), headDim) * scale + bias[c];
                            max = MathF.Max(max, scores[c]);
                        }
                        var sum = 0f;
                        for (var c = 0; c < s; c++) sum += scores[c] = MathF.Exp(scores[c] - max);
                        new Span<float>(y, headDim).Clear();
                        for (var c = 0; c < s; c++)
                            if (scores[c] != 0) AddScaled(y, Column(vBase, row, kv, c), scores[c] / sum, headDim);
                    }
                }
        }
        return output;
    }

    // y += a·x over n elements.
    private static unsafe void AddScaled(float* y, float* x, float a, int n)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var av = Vector256.Create(a);
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
                Vector256.FusedMultiplyAdd(Vector256.Load(x + i), av, Vector256.Load(y + i)).Store(y + i);
        }
        for (; i < n; i++) y[i] += a * x[i];
    }

    private static unsafe float SumOfSquares(float* x, int n)
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
