using static TorchSharp.torch;

namespace Ponder.Policy;

/// <summary>
/// Rotary positions plus causal self-attention as one autograd node, computed by <see cref="CausalAttentionKernel"/>:
/// q/k/v rows (B, T, (nh + 2·nkv)·hs) from the fused projection in, attended heads (B, T, nh·hs) out, and in the backward
/// pass the q/k/v rows' gradient. The training path of <see cref="Attention"/> on the CPU in float32 (see
/// <see cref="Applies"/>); the same function as <see cref="Rotary.Apply"/> then scaled_dot_product_attention, within rounding.
/// </summary>
/// <remarks>
/// Arguments of <c>apply</c>: qkv, cos (T, hs), signed sin (T, hs) at positions 0 … T−1, heads, kv heads, head size, and
/// the rows' packed sequences (<see cref="PackedRows"/>) or null.
/// Saved for backward: the q/k/v rows and tables (inputs), the output (detached: saving the node's own output
/// as it is would make a cycle) and each score row's log-sum-exp (B, nh, T).
/// </remarks>
internal sealed class CausalAttentionFunction : TrainingNode<CausalAttentionFunction>
{
    /// <summary>Whether the kernel takes q/k/v rows <paramref name="qkv"/> with these heads and tables (rows of one shared position table).</summary>
    public static bool Applies(Tensor qkv, Tensor cos, int headDim) =>
        Takes(qkv.device, qkv.dtype, headDim) && cos.dtype == ScalarType.Float32 && cos.size(0) == 1;

    /// <summary>Whether the kernel takes activations on <paramref name="device"/> in <paramref name="dtype"/> with this head size.</summary>
    public static bool Takes(Device device, ScalarType dtype, int headDim) =>
        device.type == TorchSharp.DeviceType.CPU && dtype == ScalarType.Float32 && CausalAttentionKernel.Supports(headDim);

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        Count();
        var (qkv, cos, sin) = (((Tensor)vars[0]).contiguous(), ((Tensor)vars[1]).contiguous(), ((Tensor)vars[2]).contiguous());
        var (heads, kvHeads, headDim) = ((int)vars[3], (int)vars[4], (int)vars[5]);
        var packed = vars.Length > 6 ? (PackedRows?)vars[6] : null;
        var (b, t) = ((int)qkv.size(0), (int)qkv.size(1));
        var output = empty([b, t, heads * headDim], ScalarType.Float32);              // (B, T, nh·hs)
        var lse = empty([b, heads, t], ScalarType.Float32);                           // (B, nh, T)
        CausalAttentionKernel.Forward(Job(qkv, cos, sin, output, lse, heads, kvHeads, headDim, packed));
        ctx.save_for_backward([qkv, cos, sin, output.detach(), lse]);
        ctx.save_data("heads", (heads, kvHeads, headDim));
        ctx.save_data("packed", packed!);
        return output;
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
    {
        var saved = ctx.get_saved_variables();
        var (qkv, cos, sin, output, lse) = (saved[0], saved[1], saved[2], saved[3], saved[4]);
        var (heads, kvHeads, headDim) = ((int, int, int))ctx.get_data("heads");
        var packed = (PackedRows?)ctx.get_data("packed");
        var outputGrad = grad_output.contiguous();                                    // (B, T, nh·hs)
        var qkvGrad = empty_like(qkv);                                                // (B, T, (nh+2·nkv)·hs), every element written
        CausalAttentionKernel.Backward(Job(qkv, cos, sin, output, lse, heads, kvHeads, headDim, packed, outputGrad, qkvGrad));
        SavedTensors.Release(ctx);
        return [qkvGrad, null!, null!, null!, null!, null!, null!];
    }

    private static CausalAttentionKernel.Job Job(Tensor qkv, Tensor cos, Tensor sin, Tensor output, Tensor lse, int heads, int kvHeads, int headDim,
        PackedRows? packed, Tensor? outputGrad = null, Tensor? qkvGrad = null) =>
        new((int)qkv.size(0), (int)qkv.size(1), heads, kvHeads, headDim, SmallRowOps.Address(qkv), SmallRowOps.Address(cos),
            SmallRowOps.Address(sin), SmallRowOps.Address(output), SmallRowOps.Address(lse), SmallRowOps.Address(outputGrad), SmallRowOps.Address(qkvGrad), packed);
}
