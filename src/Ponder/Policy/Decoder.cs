using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Ponder.Policy;

/// <summary>
/// The body that Hugging Face calls <c>model</c> (<c>LlamaModel</c>): token embedding, blocks, final norm.
/// Exists as its own module only so that parameter names carry the <c>model.</c> prefix.
/// </summary>
internal sealed class Decoder : nn.Module<Tensor, AttentionContext, Tensor>
{
    [ComponentName(Name = "embed_tokens")] private readonly Embedding _embed;
    [ComponentName(Name = "layers")] private readonly ModuleList<Block> _layers;
    [ComponentName(Name = "norm")] private readonly RmsNorm _norm;

    public Decoder(TransformerConfig config, Device? device) : base(nameof(Decoder))
    {
        _embed = nn.Embedding(config.VocabSize, config.HiddenSize, device: device);
        _layers = new ModuleList<Block>(Enumerable.Range(0, config.NumLayers).Select(i => new Block(config, i, device)).ToArray());
        _norm = new RmsNorm(config.HiddenSize, config.RmsNormEps, device);
        RegisterComponents();
    }

    public Embedding Embedding => _embed;

    public IEnumerable<Block> Layers => _layers;

    /// <summary>Final-normed hidden states (B, T, C) of <paramref name="inputIds"/> (B, T).</summary>
    public override Tensor forward(Tensor inputIds, AttentionContext ctx)
    {
        using var scope = NewDisposeScope();
        var x = _embed.call(inputIds);                                               // (B, T, C)
        foreach (var block in _layers) x = block.call(x, ctx);                       // (B, T, C)
        return _norm.Forward(x, ctx.SmallRows).MoveToOuterDisposeScope();            // (B, T, C)
    }
}
