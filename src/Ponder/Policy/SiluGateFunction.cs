using System.Runtime.Intrinsics;
using static TorchSharp.torch;

namespace Ponder.Policy;

/// <summary>
/// SwiGLU's gating as one autograd node in C#: gate and up side by side (…, 2·I) from one fused projection in,
/// silu(gate) · up (…, I) out. Backward, with s = σ(gate): d gate = dh · up · s · (1 + gate · (1 − s)) and
/// d up = dh · gate · s, written side by side like the input. libtorch takes a SiLU, a product and their backward
/// ops, each a pass over memory; here one pass each way. The training path of <see cref="Mlp"/> (see
/// <see cref="Transformer.TrainingKernels"/>); the same function within rounding.
/// </summary>
internal sealed unsafe class SiluGateFunction : autograd.SingleTensorFunction<SiluGateFunction>
{
    private const int V = 8;                                                         // floats in a Vector256

    public override string Name => nameof(SiluGateFunction);

    private static long _calls;

    /// <summary>Forward passes run by this node so far in this process (tests check which path a pass took).</summary>
    public static long Calls => Interlocked.Read(ref _calls);

    /// <summary>Whether <paramref name="gateUp"/> is a float32 CPU tensor the kernel takes.</summary>
    public static bool Applies(Tensor gateUp) =>
        gateUp.device_type == TorchSharp.DeviceType.CPU && gateUp.dtype == ScalarType.Float32 && Vector256.IsHardwareAccelerated;

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        Interlocked.Increment(ref _calls);
        var gateUp = ((Tensor)vars[0]).contiguous();                                  // (…, 2·I)
        var width = (int)gateUp.size(-1);
        var n = width / 2;
        var rows = (int)(gateUp.numel() / width);
        var shape = gateUp.shape;
        shape[^1] = n;
        var hidden = empty(shape, ScalarType.Float32);                                // (…, I)
        float* gp = (float*)SmallRowOps.Address(gateUp), hp = (float*)SmallRowOps.Address(hidden);
        RowWorkers.ForRows(rows, MinRowsPerPart, (first, end) =>
        {
            for (var r = first; r < end; r++) SmallRowOps.SiluGateRow(gp + (long)r * width, gp + (long)r * width + n, hp + (long)r * n, n);
        });
        ctx.save_for_backward([gateUp]);
        return hidden;
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
    {
        var gateUp = ctx.get_saved_variables()[0];                                    // (…, 2·I)
        var dh = grad_output.contiguous();                                            // (…, I)
        var width = (int)gateUp.size(-1);
        var n = width / 2;
        var rows = (int)(gateUp.numel() / width);
        var grad = empty_like(gateUp);                                                // (…, 2·I)
        float* gp = (float*)SmallRowOps.Address(gateUp), dhp = (float*)SmallRowOps.Address(dh), dp = (float*)SmallRowOps.Address(grad);
        RowWorkers.ForRows(rows, MinRowsPerPart, (first, end) =>
        {
            var one = Vector256<float>.One;
            for (var r = first; r < end; r++)
            {
                float* g = gp + (long)r * width, u = g + n, d = dhp + (long)r * n, dg = dp + (long)r * width, du = dg + n;
                var j = 0;
                for (; j + V <= n; j += V)
                {
                    var (gv, uv, dv) = (Vector256.Load(g + j), Vector256.Load(u + j), Vector256.Load(d + j));
                    var s = one / (one + Vector256.Exp(-gv));
                    (dv * uv * s * (one + gv * (one - s))).Store(dg + j);
                    (dv * gv * s).Store(du + j);
                }
                for (; j < n; j++)
                {
                    var s = 1f / (1f + MathF.Exp(-g[j]));
                    dg[j] = d[j] * u[j] * s * (1f + g[j] * (1f - s));
                    du[j] = d[j] * g[j] * s;
                }
            }
        });
        SavedTensors.Release(ctx);
        return [grad];
    }

    private const int MinRowsPerPart = 64;
}
