using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TorchSharp;
using static TorchSharp.torch;

namespace Ponder.Policy;

/// <summary>
/// y = x·Wᵀ (+ b) (+ y) for a decode step's rows in C#, on row-major float32 memory with W in its own (Out, In) layout:
/// tiles of four input rows by four weight rows, sixteen vector accumulators summed over the whole input width, so that
/// each weight vector loaded serves four rows and each input vector four outputs (eight loads feed sixteen multiply-adds).
/// The vectors are 16 floats wide where the CPU has AVX-512 and the width is a multiple of 16 (<see cref="Wide"/>), else 8.
/// </summary>
/// <remarks>
/// Why not libtorch: at a decode step of a small model (a few dozen rows, widths of a few hundred) a matmul is tens
/// of microseconds, on the order of libtorch's per-call cost, and <see cref="FusedAppend"/> runs a whole step in one
/// call per thread. The weight is read as it is stored (no packed copy that an optimizer step would make stale). Each
/// output is one sum in a fixed order, so results do not depend on how rows or outputs are split over threads.
/// The input width must be a multiple of eight (<see cref="Fits"/>).
/// </remarks>
internal static class TiledLinear
{
    /// <summary>Whether widths of <paramref name="inFeatures"/> inputs run here: whole eight-float vectors.</summary>
    public static bool Fits(long inFeatures) => Vector256.IsHardwareAccelerated && inFeatures > 0 && inFeatures % Vector256<float>.Count == 0;

    /// <summary>Products computed through <see cref="Forward"/> so far in this process (tests check which path a pass took).</summary>
    public static long Calls => Interlocked.Read(ref _calls);

    private static long _calls;

    /// <summary>Whether <see cref="Forward"/> may compute <c>F.linear(x, weight)</c>: no gradients, CPU, float32, a contiguous weight of a width that <see cref="Fits"/>.</summary>
    public static bool Applies(Tensor x, Tensor weight) =>
        !is_grad_enabled() && x.device_type == DeviceType.CPU && weight.device_type == DeviceType.CPU && x.dtype == ScalarType.Float32
        && weight.dtype == ScalarType.Float32 && weight.dim() == 2 && weight.is_contiguous() && Fits(weight.size(1)) && x.size(-1) == weight.size(1) && x.numel() > 0;

    /// <summary><c>F.linear(x, weight)</c>: x (…, In), weight (Out, In) → (…, Out), outputs split over torch's threads when the weight is large. Check <see cref="Applies"/> first.</summary>
    public static unsafe Tensor Forward(Tensor x, Tensor weight)
    {
        var (outF, inF) = ((int)weight.size(0), (int)weight.size(1));
        var shape = x.shape;
        shape[^1] = outF;
        Interlocked.Increment(ref _calls);
        var input = x.is_contiguous() ? x : x.contiguous();
        var output = empty(shape, ScalarType.Float32);                                 // (…, Out)
        Compute((float*)SmallRowOps.Address(input), (int)(input.numel() / inF), (float*)SmallRowOps.Address(weight), null, (float*)SmallRowOps.Address(output),
            outF, inF, accumulate: false, Math.Max(1, get_num_threads()));
        GC.KeepAlive(weight);
        if (!ReferenceEquals(input, x)) input.Dispose();
        return output;
    }

    /// <summary>
    /// <see cref="Compute(float*, int, float*, float*, float*, int, int, int, int, bool)"/> over all outputs, split over
    /// up to <paramref name="threads"/> threads when the weight has at least <see cref="SmallRowLinear.SplitElements"/>
    /// elements (the split changes no result: each output is still one sum in a fixed order).
    /// </summary>
    public static unsafe void Compute(float* x, int rows, float* w, float* b, float* y, int outF, int inF, bool accumulate, int threads)
    {
        if (threads <= 1 || (long)outF * inF < SmallRowLinear.SplitElements) Compute(x, rows, w, b, y, outF, inF, 0, outF, accumulate);
        else Split(x, rows, w, b, y, outF, inF, accumulate, threads);
    }

    // The split over threads, apart so that the one-thread call (every projection of a fused append's rows) makes no closure.
    private static unsafe void Split(float* x, int rows, float* w, float* b, float* y, int outF, int inF, bool accumulate, int threads)
    {
        var (xa, wa, ba, ya) = ((nint)x, (nint)w, (nint)b, (nint)y);
        RowWorkers.ForBlocks(outF, 4, threads, (from, to) => Compute((float*)xa, rows, (float*)wa, (float*)ba, (float*)ya, outF, inF, from, to, accumulate));
    }

    /// <summary>
    /// For rows [0, rows) of x (stride inF) and outputs [start, end): y[r, o] = Σₖ x[r, k]·w[o, k] + b[o] (b may be
    /// null), added to y's current value when <paramref name="accumulate"/> (a residual), y of stride outF.
    /// </summary>
    public static unsafe void Compute(float* x, int rows, float* w, float* b, float* y, int outF, int inF, int start, int end, bool accumulate)
    {
        var o = start;
        for (; o + 4 <= end; o += 4)
        {
            var wo = w + (long)o * inF;
            var bo = b is null ? null : b + o;
            var r = 0;
            if (Wide(inF))
                for (; r + 4 <= rows; r += 4) Tile512(x + (long)r * inF, inF, wo, bo, y + (long)r * outF + o, outF, accumulate);
            else
                for (; r + 4 <= rows; r += 4) Tile(x + (long)r * inF, inF, wo, bo, y + (long)r * outF + o, outF, accumulate);
            for (; r < rows; r++)
            {
                var (s0, s1, s2, s3) = SmallRowLinear.Dot4(wo, inF, x + (long)r * inF);
                Store(Vector128.Create(s0, s1, s2, s3), bo, y + (long)r * outF + o, accumulate);
            }
        }
        for (; o < end; o++)
        {
            for (var r = 0; r < rows; r++)
            {
                var s = SmallRowLinear.Dot(w + (long)o * inF, x + (long)r * inF, inF) + (b is null ? 0f : b[o]);
                var yo = y + (long)r * outF + o;
                *yo = accumulate ? *yo + s : s;
            }
        }
    }

    // Four rows of x (stride n) by four rows of w (stride n), summed over n; results to four rows of y (stride ys).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Tile(float* x, int n, float* w, float* b, float* y, int ys, bool accumulate)
    {
        float* x0 = x, x1 = x + n, x2 = x1 + n, x3 = x2 + n;
        float* w0 = w, w1 = w + n, w2 = w1 + n, w3 = w2 + n;
        Vector256<float> a00 = default, a01 = default, a02 = default, a03 = default;
        Vector256<float> a10 = default, a11 = default, a12 = default, a13 = default;
        Vector256<float> a20 = default, a21 = default, a22 = default, a23 = default;
        Vector256<float> a30 = default, a31 = default, a32 = default, a33 = default;
        for (var k = 0; k < n; k += Vector256<float>.Count)
        {
            var v0 = Vector256.Load(w0 + k);
            var v1 = Vector256.Load(w1 + k);
            var v2 = Vector256.Load(w2 + k);
            var v3 = Vector256.Load(w3 + k);
            var u = Vector256.Load(x0 + k);
            a00 = Vector256.FusedMultiplyAdd(v0, u, a00);
            a01 = Vector256.FusedMultiplyAdd(v1, u, a01);
            a02 = Vector256.FusedMultiplyAdd(v2, u, a02);
            a03 = Vector256.FusedMultiplyAdd(v3, u, a03);
            u = Vector256.Load(x1 + k);
            a10 = Vector256.FusedMultiplyAdd(v0, u, a10);
            a11 = Vector256.FusedMultiplyAdd(v1, u, a11);
            a12 = Vector256.FusedMultiplyAdd(v2, u, a12);
            a13 = Vector256.FusedMultiplyAdd(v3, u, a13);
            u = Vector256.Load(x2 + k);
            a20 = Vector256.FusedMultiplyAdd(v0, u, a20);
            a21 = Vector256.FusedMultiplyAdd(v1, u, a21);
            a22 = Vector256.FusedMultiplyAdd(v2, u, a22);
            a23 = Vector256.FusedMultiplyAdd(v3, u, a23);
            u = Vector256.Load(x3 + k);
            a30 = Vector256.FusedMultiplyAdd(v0, u, a30);
            a31 = Vector256.FusedMultiplyAdd(v1, u, a31);
            a32 = Vector256.FusedMultiplyAdd(v2, u, a32);
            a33 = Vector256.FusedMultiplyAdd(v3, u, a33);
        }
        Store(Sum4(a00, a01, a02, a03), b, y, accumulate);
        Store(Sum4(a10, a11, a12, a13), b, y + ys, accumulate);
        Store(Sum4(a20, a21, a22, a23), b, y + 2 * ys, accumulate);
        Store(Sum4(a30, a31, a32, a33), b, y + 3 * ys, accumulate);
    }

    // Tile on 16-float vectors (AVX-512, where the JIT has it): each multiply-add does twice the work, the same order of
    // loads; n must be a multiple of 16 (Wide).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Tile512(float* x, int n, float* w, float* b, float* y, int ys, bool accumulate)
    {
        float* x0 = x, x1 = x + n, x2 = x1 + n, x3 = x2 + n;
        float* w0 = w, w1 = w + n, w2 = w1 + n, w3 = w2 + n;
        Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default;
        Vector512<float> a10 = default, a11 = default, a12 = default, a13 = default;
        Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default;
        Vector512<float> a30 = default, a31 = default, a32 = default, a33 = default;
        for (var k = 0; k < n; k += Vector512<float>.Count)
        {
            var v0 = Vector512.Load(w0 + k);
            var v1 = Vector512.Load(w1 + k);
            var v2 = Vector512.Load(w2 + k);
            var v3 = Vector512.Load(w3 + k);
            var u = Vector512.Load(x0 + k);
            a00 = Vector512.FusedMultiplyAdd(v0, u, a00);
            a01 = Vector512.FusedMultiplyAdd(v1, u, a01);
            a02 = Vector512.FusedMultiplyAdd(v2, u, a02);
            a03 = Vector512.FusedMultiplyAdd(v3, u, a03);
            u = Vector512.Load(x1 + k);
            a10 = Vector512.FusedMultiplyAdd(v0, u, a10);
            a11 = Vector512.FusedMultiplyAdd(v1, u, a11);
            a12 = Vector512.FusedMultiplyAdd(v2, u, a12);
            a13 = Vector512.FusedMultiplyAdd(v3, u, a13);
            u = Vector512.Load(x2 + k);
            a20 = Vector512.FusedMultiplyAdd(v0, u, a20);
            a21 = Vector512.FusedMultiplyAdd(v1, u, a21);
            a22 = Vector512.FusedMultiplyAdd(v2, u, a22);
            a23 = Vector512.FusedMultiplyAdd(v3, u, a23);
            u = Vector512.Load(x3 + k);
            a30 = Vector512.FusedMultiplyAdd(v0, u, a30);
            a31 = Vector512.FusedMultiplyAdd(v1, u, a31);
            a32 = Vector512.FusedMultiplyAdd(v2, u, a32);
            a33 = Vector512.FusedMultiplyAdd(v3, u, a33);
        }
        Store(Sum4(Half(a00), Half(a01), Half(a02), Half(a03)), b, y, accumulate);
        Store(Sum4(Half(a10), Half(a11), Half(a12), Half(a13)), b, y + ys, accumulate);
        Store(Sum4(Half(a20), Half(a21), Half(a22), Half(a23)), b, y + 2 * ys, accumulate);
        Store(Sum4(Half(a30), Half(a31), Half(a32), Half(a33)), b, y + 3 * ys, accumulate);
    }

    // A 16-float vector's two halves added: the 8-float vector whose sum is the same total.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> Half(Vector512<float> a) => a.GetLower() + a.GetUpper();

    /// <summary>Whether widths of <paramref name="n"/> inputs run on 16-float vectors.</summary>
    internal static bool Wide(int n) => Vector512.IsHardwareAccelerated && n % Vector512<float>.Count == 0;

    // The four accumulators' totals: one horizontal-add tree.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Sum4(Vector256<float> a0, Vector256<float> a1, Vector256<float> a2, Vector256<float> a3)
    {
        if (!Avx.IsSupported) return Vector128.Create(Vector256.Sum(a0), Vector256.Sum(a1), Vector256.Sum(a2), Vector256.Sum(a3));
        var h = Avx.HorizontalAdd(Avx.HorizontalAdd(a0, a1), Avx.HorizontalAdd(a2, a3));   // per 128-bit lane
        return h.GetLower() + h.GetUpper();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Store(Vector128<float> sums, float* b, float* y, bool accumulate)
    {
        if (b is not null) sums += Vector128.Load(b);
        if (accumulate) sums += Vector128.Load(y);
        sums.Store(y);
    }
}
