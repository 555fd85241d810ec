using static TorchSharp.torch;

namespace Ponder.Policy;

/// <summary>
/// What every attention layer of one forward pass shares: rotary tables at the tokens' positions, and for the
/// cached path the cache plus the key mask (already repeated for the query groups of grouped-query attention).
/// </summary>
/// <param name="Cos">(B or 1, 1, T, hs) rotary cosines at each token's position.</param>
/// <param name="Sin">(B or 1, 1, T, hs) rotary sines with rotate_half's sign folded in (see <see cref="Rotary"/>).</param>
/// <param name="Mask">
/// (B, 1, g·T, S) additive mask, 0 where a query may attend a key and −∞ elsewhere; on the full causal path null, or
/// (B, 1, T, T) for packed rows on libtorch's ops.
/// </param>
/// <param name="Cache">The KV cache being appended to; null for the full causal path (training).</param>
/// <param name="Fused">Run q/k/v and gate/up as fused matmuls (only without gradients; see <see cref="FusedLinear"/>).</param>
/// <param name="SmallRows">Let the fused path's linears of at most four rows run on <see cref="SmallRowLinear"/> (only without gradients).</param>
/// <param name="TrainingKernels">
/// The full causal path with gradients on the CPU: rotary and attention run as one C# autograd node
/// (<see cref="CausalAttentionFunction"/>), norms and gating as theirs.
/// </param>
/// <param name="CachedKernels">
/// A cached step of at most four tokens a row, any batch: rotary, the cache write and attention run in C#
/// (<see cref="SmallRowOps.CachedAttention"/>) while the linears stay libtorch's (only without gradients).
/// </param>
/// <param name="Packed">
/// Packed rows on the full causal path (<see cref="PackedRows"/>): the C# attention node reads <paramref name="Cos"/> and
/// <paramref name="Sin"/> (positions 0 … T−1) at each sequence's own positions; elsewhere the tables are per token and
/// <paramref name="Mask"/> keeps the sequences apart.
/// </param>
internal sealed record AttentionContext(Tensor Cos, Tensor Sin, Tensor? Mask, KvCache? Cache, bool Fused, bool SmallRows = false, bool CachedKernels = false,
    bool TrainingKernels = false, PackedRows? Packed = null)
{
    /// <summary>A decode step either way: norms, rotary, gating and cached attention run in C# (<see cref="SmallRowOps"/>).</summary>
    public bool DecodeStep => SmallRows || CachedKernels;
}
