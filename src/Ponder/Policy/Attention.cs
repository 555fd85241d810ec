using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Ponder.Policy;

/// <summary>
/// Multi-head self-attention with rotary positions and grouped-query attention (NumKvHeads ≤ NumHeads; query
/// head h reads kv head h / group, as in transformers' <c>repeat_kv</c>). Optional q/k/v bias (Qwen2).
/// Without gradients (<see cref="AttentionContext.Fused"/>) q, k and v come from one fused matmul.
/// </summary>
internal sealed class Attention : nn.Module<Tensor, AttentionContext, Tensor>
{
    [ComponentName(Name = "q_proj")] private readonly Linear _q;
    [ComponentName(Name = "k_proj")] private readonly Linear _k;
    [ComponentName(Name = "v_proj")] private readonly Linear _v;
    [ComponentName(Name = "o_proj")] private readonly Linear _o;
    private readonly FusedLinear _qkv;
    private readonly int _layer;
    private readonly int _heads;
    private readonly int _kvHeads;
    private readonly int _headDim;

    public Attention(TransformerConfig config, int layer, Device? device) : base(nameof(Attention))
    {
        _layer = layer;
        _heads = config.NumHeads;
        _kvHeads = config.NumKvHeads;
        _headDim = config.HeadDim;
        var c = config.HiddenSize;
        _q = nn.Linear(c, _heads * _headDim, hasBias: config.AttentionBias, device: device);
        _k = nn.Linear(c, _kvHeads * _headDim, hasBias: config.AttentionBias, device: device);
        _v = nn.Linear(c, _kvHeads * _headDim, hasBias: config.AttentionBias, device: device);
        _o = nn.Linear(_heads * _headDim, c, hasBias: false, device: device);
        RegisterComponents();
        _qkv = new FusedLinear(_q, _k, _v);
    }

    /// <summary>The output projection (its init is scaled down, see <see cref="Transformer"/>).</summary>
    public Linear OutputProjection => _o;

    /// <summary>q, k and v's weights as one (ΣOut, C) tensor and their bias (ΣOut) or null (see <see cref="FusedLinear"/>); no gradients.</summary>
    public (Tensor Weight, Tensor? Bias) QkvWeights() => _qkv.Weights();

    public override Tensor forward(Tensor x, AttentionContext ctx)
    {
        using var scope = NewDisposeScope();
        var (b, t) = (x.shape[0], x.shape[1]);
        var (nh, nkv, hs) = (_heads, _kvHeads, _headDim);
        var group = nh / nkv;

        Tensor q, k, v;
        if (ctx.Fused)
        {
            // One matmul for q, k and v, and one rotary pass over the q and k heads together.
            var (weight, bias) = _qkv.Weights();
            var flat = SmallRowLinear.Linear(x, weight, bias, ctx.SmallRows);          // (B, T, (nh+2·nkv)·hs)
            var inPlace = ctx.DecodeStep && SmallRowOps.Plain(flat, (nh + 2 * nkv) * hs)
                && SmallRowOps.Plain(ctx.Cos, hs) && SmallRowOps.Plain(ctx.Sin, hs) && ctx.Cos.size(2) == t;
            if (inPlace)
            {
                // A decode step: rotary, the cache write and attention in C# on the tensors' memory.
                SmallRowOps.RotaryInPlace(flat, nh + nkv, hs, ctx.Cos, ctx.Sin);
                if (ctx.Cache is not null && ctx.Mask is not null && SmallRowOps.CachedAttentionFits(ctx.Cache, _layer, ctx.Mask))
                {
                    var (keys, values, start, _) = ctx.Cache.Buffers(_layer);
                    var attended = SmallRowOps.CachedAttention(flat, nh, nkv, hs, keys, values, start, ctx.Mask); // (B, T, nh·hs)
                    var projected = ctx.SmallRows ? SmallRowLinear.Linear(attended, _o.weight!, _o.bias, enabled: true) : _o.call(attended); // (B, T, C)
                    return projected.MoveToOuterDisposeScope();
                }
            }
            var qkv = flat.view(b, t, nh + 2 * nkv, hs).transpose(1, 2);                 // (B, nh+2·nkv, T, hs)
            var qk = inPlace ? qkv.narrow(1, 0, nh + nkv) : Rotary.Apply(qkv.narrow(1, 0, nh + nkv), ctx.Cos, ctx.Sin); // (B, nh+nkv, T, hs)
            q = qk.narrow(1, 0, nh);                                                     // (B, nh, T, hs)
            k = qk.narrow(1, nh, nkv);                                                   // (B, nkv, T, hs)
            v = qkv.narrow(1, nh + nkv, nkv);                                            // (B, nkv, T, hs)
        }
        else if (ctx.Cache is null && ctx.TrainingKernels && CausalAttentionFunction.Applies(x, ctx.Cos, hs))
        {
            // Training on the CPU: one matmul for q, k and v, then rotary and attention in one C# node.
            var weight = cat([_q.weight!, _k.weight!, _v.weight!], 0);                    // ((nh+2·nkv)·hs, C)
            var bias = _q.bias is null ? null : cat([_q.bias, _k.bias!, _v.bias!], 0);     // ((nh+2·nkv)·hs)
            var qkv = F.linear(x, weight, bias);                                         // (B, T, (nh+2·nkv)·hs)
            var attended = CausalAttentionFunction.apply(qkv, ctx.Cos, ctx.Sin, nh, nkv, hs, ctx.Packed!); // (B, T, nh·hs)
            return _o.call(attended).MoveToOuterDisposeScope();                          // (B, T, C)
        }
        else
        {
            q = _q.call(x).view(b, t, nh, hs).transpose(1, 2);                           // (B, nh, T, hs)
            k = _k.call(x).view(b, t, nkv, hs).transpose(1, 2);                          // (B, nkv, T, hs)
            v = _v.call(x).view(b, t, nkv, hs).transpose(1, 2);                          // (B, nkv, T, hs)
            q = Rotary.Apply(q, ctx.Cos, ctx.Sin);                                       // (B, nh, T, hs)
            k = Rotary.Apply(k, ctx.Cos, ctx.Sin);                                       // (B, nkv, T, hs)
        }

        Tensor y;
        if (ctx.Cache is null)
        {
            if (group > 1)
            {
                k = k.repeat_interleave(group, 1);                                   // (B, nh, T, hs)
                v = v.repeat_interleave(group, 1);                                   // (B, nh, T, hs)
            }
            y = ctx.Mask is null ? F.scaled_dot_product_attention(q, k, v, is_casual: true) // (B, nh, T, hs) (sic: TorchSharp spelling)
                : F.scaled_dot_product_attention(q, k, v, ctx.Mask);                 // packed rows: each sequence within itself
        }
        else
        {
            // Fold the query groups into the query axis instead of copying the cached keys per group.
            var (keys, values) = ctx.Cache.Write(_layer, k, v);                      // (B, nkv, S, hs)
            if (keys.dtype != q.dtype) (keys, values) = (keys.to(q.dtype), values.to(q.dtype)); // a cache stored in another type
            var qg = q.reshape(b, nkv, group * t, hs);                               // (B, nkv, g·T, hs)
            y = F.scaled_dot_product_attention(qg, keys, values, ctx.Mask)          // (B, nkv, g·T, hs), strided on CUDA
                .reshape(b, nh, t, hs);                                              // (B, nh, T, hs)
        }
        y = y.transpose(1, 2).reshape(b, t, nh * hs);                                // (B, T, nh·hs), nh·hs = C unless head_dim is set
        var output = ctx.SmallRows ? SmallRowLinear.Linear(y, _o.weight!, _o.bias, enabled: true) : _o.call(y); // (B, T, C)
        return output.MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _qkv.Dispose();
        base.Dispose(disposing);
    }
}
