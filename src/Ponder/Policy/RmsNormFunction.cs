using System.Runtime.Intrinsics;
using static TorchSharp.torch;

namespace Ponder.Policy;

/// <summary>
/// <c>LlamaRMSNorm</c> of float32 rows on the CPU as one autograd node, forward and backward in C#: y = x · r · w with
/// r = rsqrt(mean(x²) + eps) per row. libtorch takes six ops forward (each writing a tensor of the rows' size) and about
/// ten backward; here each pass reads its inputs once. Backward: with x̂ = x·r and g = dy·w,
/// dx = r · (g − x̂ · mean(g · x̂)) and dw = Σ_rows dy · x̂. The training path of <see cref="RmsNorm"/> (see
/// <see cref="Transformer.TrainingKernels"/>); the same function within rounding.
/// </summary>
/// <remarks>
/// Arguments of <c>apply</c>: x (…, C), gain (C), eps. Saved for backward: x, gain and r (rows). Rows are split over
/// threads; the gain's gradient is summed per part, then the parts in order (the same threads give the same result).
/// </remarks>
internal sealed unsafe class RmsNormFunction : TrainingNode<RmsNormFunction>
{
    private const int V = 8;                                                         // floats in a Vector256

    /// <summary>Whether x and gain are float32 CPU tensors the kernel takes.</summary>
    public static bool Applies(Tensor x, Tensor gain) =>
        x.device_type == TorchSharp.DeviceType.CPU && x.dtype == ScalarType.Float32 && gain.dtype == ScalarType.Float32
        && Vector256.IsHardwareAccelerated;

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        Count();
        var (x, gain, eps) = (((Tensor)vars[0]).contiguous(), ((Tensor)vars[1]).contiguous(), (double)vars[2]);
        var c = (int)gain.size(0);
        var rows = (int)(x.numel() / c);
        var y = empty_like(x);                                                        // (…, C)
        var inverse = empty(rows, ScalarType.Float32);                                // (rows)
        float* xp = (float*)SmallRowOps.Address(x), wp = (float*)SmallRowOps.Address(gain), yp = (float*)SmallRowOps.Address(y), rp = (float*)SmallRowOps.Address(inverse);
        var epsilon = (float)eps;
        RowWorkers.ForRows(rows, MinRowsPerPart, (first, end) =>
        {
            for (var r = first; r < end; r++) rp[r] = SmallRowOps.RmsNormRow(xp + (long)r * c, wp, epsilon, yp + (long)r * c, c);
        });
        ctx.save_for_backward([x, gain, inverse]);
        return y;
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
    {
        var saved = ctx.get_saved_variables();
        var (x, gain, inverse) = (saved[0], saved[1], saved[2]);
        var dy = grad_output.contiguous();                                            // (…, C)
        var c = (int)gain.size(0);
        var rows = (int)(x.numel() / c);
        var dx = empty_like(x);                                                       // (…, C)
        var parts = RowWorkers.PartsFor(rows, MinRowsPerPart);
        var partial = zeros(parts, c);                                                // (parts, C) gain gradient per part
        float* xp = (float*)SmallRowOps.Address(x), wp = (float*)SmallRowOps.Address(gain), rp = (float*)SmallRowOps.Address(inverse);
        float* dyp = (float*)SmallRowOps.Address(dy), dxp = (float*)SmallRowOps.Address(dx), pp = (float*)SmallRowOps.Address(partial);
        RowWorkers.For(parts, part =>
        {
            var dw = pp + (long)part * c;
            for (var r = (int)((long)rows * part / parts); r < (long)rows * (part + 1) / parts; r++)
            {
                float* row = xp + (long)r * c, g = dyp + (long)r * c, output = dxp + (long)r * c;
                var inv = rp[r];
                // mean(g·x̂) with g = dy·w, x̂ = x·r: r · Σ dy·w·x / C.
                var acc = Vector256<float>.Zero;
                var j = 0;
                for (; j + V <= c; j += V) acc = Vector256.FusedMultiplyAdd(Vector256.Load(g + j) * Vector256.Load(wp + j), Vector256.Load(row + j), acc);
                var sum = Vector256.Sum(acc);
                for (; j < c; j++) sum += g[j] * wp[j] * row[j];
                var mean = sum * inv / c;
                var (iv, mv) = (Vector256.Create(inv), Vector256.Create(mean));
                for (j = 0; j + V <= c; j += V)
                {
                    var (xv, gv) = (Vector256.Load(row + j) * iv, Vector256.Load(g + j));
                    (iv * (gv * Vector256.Load(wp + j) - xv * mv)).Store(output + j);
                    Vector256.FusedMultiplyAdd(gv, xv, Vector256.Load(dw + j)).Store(dw + j);
                }
                for (; j < c; j++)
                {
                    var xh = row[j] * inv;
                    output[j] = inv * (g[j] * wp[j] - xh * mean);
                    dw[j] += g[j] * xh;
                }
            }
        }, linger: false);
        SavedTensors.Release(ctx);
        return [dx, partial.sum([0L]), null!];                                        // (C) from the parts, in order
    }

    private const int MinRowsPerPart = 256;
}
