using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using TorchSharp;
using static TorchSharp.torch;

namespace Ponder.Policy;

/// <summary>
/// Inference-only linear y = x·Wᵀ + b for a few input rows (batch-1 decode: one) on the CPU, computed in C# on the
/// tensors' own memory: a matrix-vector product that streams each weight row once, split over output rows across
/// torch's thread count when the weight is large enough to pay for it.
/// </summary>
/// <remarks>
/// Why: at one row libtorch's linear is a matrix-vector product that stays on one thread (measured: no faster with
/// two), so a model whose weights do not fit the caches is held to one core's memory bandwidth, and a small model pays
/// libtorch's per-call dispatch. Each output is one dot product summed in a fixed order by one thread, so results do
/// not depend on the thread count; they differ from libtorch's by rounding only (another summation order).
/// <see cref="Applies"/> says when it may run: CPU, float32, contiguous weight, at most <see cref="MaxRows"/> rows,
/// and no gradients (autograd cannot see through it).
/// </remarks>
internal static class SmallRowLinear
{
    /// <summary>At most this many input rows: each block of weight rows is read from memory once and reused for all rows from L1.</summary>
    public const int MaxRows = 4;

    /// <summary>
    /// Weights of at least this many elements (1 MiB of float32) are split across threads; below it a second thread's
    /// start-up costs more than its share of the work (the 0.8M bench model's matrices stay on one thread).
    /// </summary>
    public const long SplitElements = 256 * 1024;

    private const int Block = 4;   // weight rows per dot-product block

    private static long _calls;

    /// <summary>Products computed by the C# kernel so far in this process (tests check which path a forward pass took).</summary>
    public static long Calls => Interlocked.Read(ref _calls);

    /// <summary><c>F.linear(x, weight, bias)</c>, by the C# kernel when <paramref name="enabled"/> and it <see cref="Applies"/>, else by libtorch.</summary>
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias, bool enabled) =>
        enabled && Applies(x, weight, bias) ? Forward(x, weight, bias) : nn.functional.linear(x, weight, bias);

    /// <summary>Whether <see cref="Forward"/> may compute <c>F.linear(x, weight, bias)</c>.</summary>
    public static bool Applies(Tensor x, Tensor weight, Tensor? bias)
    {
        if (is_grad_enabled() || x.device_type != DeviceType.CPU || weight.device_type != DeviceType.CPU) return false;
        if (x.dtype != ScalarType.Float32 || weight.dtype != ScalarType.Float32 || weight.dim() != 2 || !weight.is_contiguous()) return false;
        if (bias is not null && (bias.dtype != ScalarType.Float32 || bias.device_type != DeviceType.CPU || !bias.is_contiguous())) return false;
        var inFeatures = weight.size(1);
        return x.size(-1) == inFeatures && x.numel() <= MaxRows * inFeatures && x.numel() > 0;
    }

    /// <summary><c>F.linear(x, weight, bias)</c>: x (…, In), weight (Out, In), bias (Out) or null → (…, Out). Check <see cref="Applies"/> first.</summary>
    public static Tensor Forward(Tensor x, Tensor weight, Tensor? bias)
    {
        var (outF, inF) = ((int)weight.size(0), (int)weight.size(1));
        var shape = x.shape;
        shape[^1] = outF;
        var rows = (int)(x.numel() / inF);
        Interlocked.Increment(ref _calls);
        var input = x.is_contiguous() ? x : x.contiguous();
        var output = empty(shape, ScalarType.Float32);                                 // (…, Out)
        var threads = outF * (long)inF >= SplitElements ? Math.Max(1, get_num_threads()) : 1;
        unsafe
        {
            Compute((float*)SmallRowOps.Address(input), rows, (float*)SmallRowOps.Address(weight), (float*)SmallRowOps.Address(bias), (float*)SmallRowOps.Address(output),
                outF, inF, threads);
            GC.KeepAlive(weight);
            GC.KeepAlive(bias);
        }
        if (!ReferenceEquals(input, x)) input.Dispose();
        return output;
    }

    /// <summary>y[r, o] = Σₖ x[r, k]·w[o, k] (+ b[o]) for r &lt; rows, o &lt; outF; b may be null.</summary>
    internal static unsafe void Compute(float* x, int rows, float* w, float* b, float* y, int outF, int inF, int threads)
    {
        if (threads <= 1) Range(x, rows, w, b, y, outF, inF, 0, outF);
        else Split(x, rows, w, b, y, outF, inF, threads);
    }

    // The split over threads, apart so that the one-thread call makes no closure.
    private static unsafe void Split(float* x, int rows, float* w, float* b, float* y, int outF, int inF, int threads)
    {
        var (xa, wa, ba, ya) = ((nint)x, (nint)w, (nint)b, (nint)y);
        RowWorkers.ForBlocks(outF, Block, threads, (start, end) => Range((float*)xa, rows, (float*)wa, (float*)ba, (float*)ya, outF, inF, start, end));
    }

    // Output rows [start, end): blocks of four weight rows, each block dotted with every input row while it is in L1.
    private static unsafe void Range(float* x, int rows, float* w, float* b, float* y, int outF, int inF, int start, int end)
    {
        var o = start;
        for (; o + Block <= end; o += Block)
        {
            var wo = w + (long)o * inF;
            for (var r = 0; r < rows; r++)
            {
                var (s0, s1, s2, s3) = Dot4(wo, inF, x + (long)r * inF);
                var yo = y + (long)r * outF + o;
                if (b is null) (yo[0], yo[1], yo[2], yo[3]) = (s0, s1, s2, s3);
                else (yo[0], yo[1], yo[2], yo[3]) = (s0 + b[o], s1 + b[o + 1], s2 + b[o + 2], s3 + b[o + 3]);
            }
        }
        for (; o < end; o++)
            for (var r = 0; r < rows; r++)
                y[(long)r * outF + o] = Dot(w + (long)o * inF, x + (long)r * inF, inF) + (b is null ? 0f : b[o]);
    }

    /// <summary>Dot products of four consecutive weight rows (stride n) with x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe (float, float, float, float) Dot4(float* w, int n, float* x)
    {
        float* w0 = w, w1 = w + n, w2 = w + 2 * n, w3 = w + 3 * n;
        var i = 0;
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            if (Vector512.IsHardwareAccelerated && n >= Vector512<float>.Count)
            {
                // 16 floats a step where the CPU has AVX-512 (half the multiply-add chain), then the halves added.
                Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default;
                for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
                {
                    var xv = Vector512.Load(x + i);
                    b0 = Vector512.FusedMultiplyAdd(Vector512.Load(w0 + i), xv, b0);
                    b1 = Vector512.FusedMultiplyAdd(Vector512.Load(w1 + i), xv, b1);
                    b2 = Vector512.FusedMultiplyAdd(Vector512.Load(w2 + i), xv, b2);
                    b3 = Vector512.FusedMultiplyAdd(Vector512.Load(w3 + i), xv, b3);
                }
                (a0, a1, a2, a3) = (TiledLinear.Half(b0), TiledLinear.Half(b1), TiledLinear.Half(b2), TiledLinear.Half(b3));
            }
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var xv = Vector256.Load(x + i);
                a0 = Vector256.FusedMultiplyAdd(Vector256.Load(w0 + i), xv, a0);
                a1 = Vector256.FusedMultiplyAdd(Vector256.Load(w1 + i), xv, a1);
                a2 = Vector256.FusedMultiplyAdd(Vector256.Load(w2 + i), xv, a2);
                a3 = Vector256.FusedMultiplyAdd(Vector256.Load(w3 + i), xv, a3);
            }
            (s0, s1, s2, s3) = (Vector256.Sum(a0), Vector256.Sum(a1), Vector256.Sum(a2), Vector256.Sum(a3));
        }
        else if (Vector.IsHardwareAccelerated)
        {
            Vector<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
            {
                var xv = Vector.Load(x + i);
                a0 = Vector.FusedMultiplyAdd(Vector.Load(w0 + i), xv, a0);
                a1 = Vector.FusedMultiplyAdd(Vector.Load(w1 + i), xv, a1);
                a2 = Vector.FusedMultiplyAdd(Vector.Load(w2 + i), xv, a2);
                a3 = Vector.FusedMultiplyAdd(Vector.Load(w3 + i), xv, a3);
            }
            (s0, s1, s2, s3) = (Vector.Sum(a0), Vector.Sum(a1), Vector.Sum(a2), Vector.Sum(a3));
        }
        for (; i < n; i++)
        {
            s0 = MathF.FusedMultiplyAdd(w0[i], x[i], s0);
            s1 = MathF.FusedMultiplyAdd(w1[i], x[i], s1);
            s2 = MathF.FusedMultiplyAdd(w2[i], x[i], s2);
            s3 = MathF.FusedMultiplyAdd(w3[i], x[i], s3);
        }
        return (s0, s1, s2, s3);
    }

    /// <summary>Σᵢ w[i]·x[i] over n elements.</summary>
    internal static unsafe float Dot(float* w, float* x, int n)
    {
        var i = 0;
        var s = 0f;
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> a = default;
            if (Vector512.IsHardwareAccelerated && n >= Vector512<float>.Count)
            {
                Vector512<float> b = default;
                for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
                    b = Vector512.FusedMultiplyAdd(Vector512.Load(w + i), Vector512.Load(x + i), b);
                a = TiledLinear.Half(b);
            }
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
                a = Vector256.FusedMultiplyAdd(Vector256.Load(w + i), Vector256.Load(x + i), a);
            s = Vector256.Sum(a);
        }
        for (; i < n; i++) s = MathF.FusedMultiplyAdd(w[i], x[i], s);
        return s;
    }
}
