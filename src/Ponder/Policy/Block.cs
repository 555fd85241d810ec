using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Ponder.Policy;

/// <summary>Pre-norm transformer block: attention then SwiGLU, each added to the residual stream.</summary>
internal sealed class Block : nn.Module<Tensor, AttentionContext, Tensor>
{
    [ComponentName(Name = "self_attn")] private readonly Attention _attention;
    [ComponentName(Name = "mlp")] private readonly Mlp _mlp;
    [ComponentName(Name = "input_layernorm")] private readonly RmsNorm _attentionNorm;
    [ComponentName(Name = "post_attention_layernorm")] private readonly RmsNorm _mlpNorm;

    public Block(TransformerConfig config, int layer, Device? device) : base(nameof(Block))
    {
        _attention = new Attention(config, layer, device);
        _mlp = new Mlp(config, device);
        _attentionNorm = new RmsNorm(config.HiddenSize, config.RmsNormEps, device);
        _mlpNorm = new RmsNorm(config.HiddenSize, config.RmsNormEps, device);
        RegisterComponents();
    }

    public Attention Attention => _attention;

    public Mlp Mlp => _mlp;

    public RmsNorm AttentionNorm => _attentionNorm;

    public RmsNorm MlpNorm => _mlpNorm;

    public override Tensor forward(Tensor x, AttentionContext ctx)
    {
        using var scope = NewDisposeScope();
        x = x + _attention.call(_attentionNorm.Forward(x, ctx.DecodeStep, ctx.TrainingKernels), ctx); // (B, T, C)
        var h = _mlpNorm.Forward(x, ctx.DecodeStep, ctx.TrainingKernels);            // (B, T, C)
        x = x + (ctx.Fused ? _mlp.ForwardFused(h, ctx.SmallRows, ctx.DecodeStep)
            : ctx.TrainingKernels && SiluGateFunction.Applies(h) ? _mlp.ForwardTraining(h) : _mlp.call(h)); // (B, T, C)
        return x.MoveToOuterDisposeScope();
    }
}
