using System.Runtime.Intrinsics;
using static TorchSharp.torch;

namespace Ponder.Policy;

/// <summary>
/// SwiGLU's gating as one autograd node in C#: gate and up (…, I) in, silu(gate) · up (…, I) out. Backward, with
/// s = σ(gate): d gate = dh · up · s · (1 + gate · (1 − s)) and d up = dh · gate · s. Gate and up stay two tensors from
/// two matmuls: one fused (…, 2·I) projection doubled the size of the step's largest blocks, and glibc's heap, fitting
/// them among the others, grew to 4 GB in a run. libtorch takes a SiLU, a product and their backward
/// ops, each a pass over memory; here one pass each way. The training path of <see cref="Mlp"/> (see
/// <see cref="Transformer.TrainingKernels"/>); the same function within rounding.
/// </summary>
internal sealed unsafe class SiluGateFunction : TrainingNode<SiluGateFunction>
{
    private const int V = 8;                                                         // floats in a Vector256

    /// <summary>Whether <paramref name="x"/> (what gate and up read) is a float32 CPU tensor the kernel takes.</summary>
    public static bool Applies(Tensor x) =>
        x.device_type == TorchSharp.DeviceType.CPU && x.dtype == ScalarType.Float32 && Vector256.IsHardwareAccelerated;

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        Count();
        var (gate, up) = (((Tensor)vars[0]).contiguous(), ((Tensor)vars[1]).contiguous()); // (…, I) each
        var n = (int)gate.size(-1);
        var rows = (int)(gate.numel() / n);
        var hidden = empty_like(gate);                                                // (…, I)
        float* gp = (float*)SmallRowOps.Address(gate), up_ = (float*)SmallRowOps.Address(up), hp = (float*)SmallRowOps.Address(hidden);
        RowWorkers.ForRows(rows, MinRowsPerPart, (first, end) =>
        {
            for (var r = first; r < end; r++) SmallRowOps.SiluGateRow(gp + (long)r * n, up_ + (long)r * n, hp + (long)r * n, n);
        });
        ctx.save_for_backward([gate, up]);
        return hidden;
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
    {
        var saved = ctx.get_saved_variables();
        var (gate, up) = (saved[0], saved[1]);                                        // (…, I) each
        var dh = grad_output.contiguous();                                            // (…, I)
        var n = (int)gate.size(-1);
        var rows = (int)(gate.numel() / n);
        var (gateGrad, upGrad) = (empty_like(gate), empty_like(up));                  // (…, I) each
        float* gp = (float*)SmallRowOps.Address(gate), up_ = (float*)SmallRowOps.Address(up), dhp = (float*)SmallRowOps.Address(dh);
        float* dgp = (float*)SmallRowOps.Address(gateGrad), dup = (float*)SmallRowOps.Address(upGrad);
        RowWorkers.ForRows(rows, MinRowsPerPart, (first, end) =>
        {
            for (var r = first; r < end; r++)
                BackwardRow(gp + (long)r * n, up_ + (long)r * n, dhp + (long)r * n, dgp + (long)r * n, dup + (long)r * n, n);
        });
        SavedTensors.Release(ctx);
        return [gateGrad, upGrad];
    }

    private const int MinRowsPerPart = 64;

    /// <summary>
    /// Whether the backward pass takes 16-float vectors (AVX-512, where the JIT has it). Every element is the same
    /// arithmetic either way (<c>Vector512.Exp</c> gives <c>Vector256.Exp</c>'s values), so the gradients are the same
    /// bit for bit; tests turn it off to check that.
    /// </summary>
    internal static bool Wide { get; set; } = Vector512.IsHardwareAccelerated;

    // d gate and d up of one row of n elements, s = σ(gate).
    private static void BackwardRow(float* g, float* u, float* d, float* dg, float* du, int n)
    {
        var j = 0;
        if (Wide)
        {
            var one16 = Vector512<float>.One;
            for (; j + 2 * V <= n; j += 2 * V)
            {
                var (gv, uv, dv) = (Vector512.Load(g + j), Vector512.Load(u + j), Vector512.Load(d + j));
                var s = one16 / (one16 + Vector512.Exp(-gv));
                (dv * uv * s * (one16 + gv * (one16 - s))).Store(dg + j);
                (dv * gv * s).Store(du + j);
            }
        }
        var one = Vector256<float>.One;
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
}
