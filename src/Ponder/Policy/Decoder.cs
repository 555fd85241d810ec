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

    private readonly TransformerConfig _config;

    public Decoder(TransformerConfig config, Device? device) : base(nameof(Decoder))
    {
        _config = config;
        _embed = nn.Embedding(config.VocabSize, config.HiddenSize, device: device);
        _layers = new ModuleList<Block>(Enumerable.Range(0, config.NumLayers).Select(i => new Block(config, i, device)).ToArray());
        _norm = new RmsNorm(config.HiddenSize, config.RmsNormEps, device);
        RegisterComponents();
    }

    public Embedding Embedding => _embed;

    public IEnumerable<Block> Layers => _layers;

    /// <summary>The final norm.</summary>
    public RmsNorm Norm => _norm;

    /// <summary>
    /// Final-normed hidden states (B, T, C) with full causal attention at positions 0…T−1, or, with
    /// <paramref name="packed"/>, within each of the rows' packed sequences at positions from 0.
    /// </summary>
    public Tensor Causal(Tensor inputIds, Rotary rotary, ScalarType dtype, bool fused, bool smallRows = false, bool trainingKernels = false,
        PackedRows? packed = null)
    {
        using var scope = NewDisposeScope();
        var t = inputIds.shape[1];
        packed?.Check(inputIds);
        if ((packed?.Longest ?? t) > _config.MaxPositions)
            throw new ArgumentException($"{packed?.Longest ?? t} tokens exceed max_position_embeddings = {_config.MaxPositions}.", nameof(inputIds));
        var positions = arange(t, ScalarType.Int64, inputIds.device).unsqueeze(0);  // (1, T)
        var (cos, sin) = rotary.Lookup(positions, dtype);                            // (1, 1, T, hs)
        if (packed is null)
            return call(inputIds, new AttentionContext(cos, sin, null, null, fused, Few(inputIds, smallRows), TrainingKernels: trainingKernels)).MoveToOuterDisposeScope(); // (B, T, C)
        // The C# attention node takes the rows' sequences as they are, reading the tables at each one's own positions;
        // libtorch's ops need each token's position and the block-diagonal mask.
        var kernel = trainingKernels && CausalAttentionFunction.Takes(inputIds.device, dtype, _config.HeadDim);
        Tensor? mask = null;
        if (!kernel)
        {
            (cos, sin) = rotary.Lookup(packed.Positions(inputIds.device), dtype);    // (B, 1, T, hs)
            mask = packed.Mask(inputIds.device, dtype);                              // (B, 1, T, T)
        }
        return call(inputIds, new AttentionContext(cos, sin, mask, null, fused, TrainingKernels: kernel, Packed: packed)).MoveToOuterDisposeScope(); // (B, T, C)
    }

    /// <summary>
    /// Final-normed hidden states (B, T, C) of <paramref name="inputIds"/> appended to <paramref name="cache"/>;
    /// <paramref name="valid"/> (B, T) marks real tokens (null: all), padding is never attended to.
    /// </summary>
    public Tensor Appended(Tensor inputIds, KvCache cache, Tensor? valid, bool checkPositions, Rotary rotary, ScalarType dtype, bool fused, bool smallRows = false) =>
        Appended(inputIds, cache, valid, checkPositions, rotary, dtype, fused, smallRows, head: null, out _);

    /// <summary>
    /// The same, and where <see cref="FusedAppend"/> runs the append and can, the logits (B, V) of its one token a row
    /// under <paramref name="head"/> (V, C), computed in the same pass (<paramref name="logits"/> is null otherwise).
    /// </summary>
    public Tensor Appended(Tensor inputIds, KvCache cache, Tensor? valid, bool checkPositions, Rotary rotary, ScalarType dtype, bool fused,
        bool smallRows, Tensor? head, out Tensor? logits)
    {
        logits = null;
        using var scope = NewDisposeScope();
        var group = _config.NumHeads / _config.NumKvHeads;
        var whole = smallRows && FusedAppend.Applies(_config, inputIds, cache, dtype);
        var positions = cache.BeginAppend((int)inputIds.shape[1], valid, checkPositions); // (B, T)
        var appended = false;
        try
        {
            if (whole)
            {
                var (hidden, headLogits) = FusedAppend.Run(this, _config, rotary, inputIds, positions, cache, head); // (B, T, C), (B, V)
                logits = headLogits?.MoveToOuterDisposeScope();
                appended = true;
                return hidden.MoveToOuterDisposeScope();
            }
            var (cos, sin) = rotary.Lookup(positions, dtype);                        // (B, 1, T, hs)
            var mask = cache.PendingMask();                                          // (B, 1, T, S)
            // Additive form (0 / −∞), made once for all layers: SDPA converts a boolean mask on every call.
            var bias = zeros(mask.shape, dtype, mask.device).masked_fill_(mask.logical_not(), Scalars.NegativeInfinity); // (B, 1, T, S)
            if (group > 1) bias = bias.repeat(1, 1, group, 1);                        // (B, 1, g·T, S)
            var step = smallRows && inputIds.shape[1] <= SmallRowLinear.MaxRows;     // a decode step (or a few tokens) of any batch
            var states = call(inputIds, new AttentionContext(cos, sin, bias, cache, fused, Few(inputIds, smallRows), step)).MoveToOuterDisposeScope(); // (B, T, C)
            appended = true;
            return states;
        }
        finally
        {
            if (appended) cache.EndAppend();
            else cache.AbortAppend();                                                // a failed pass leaves no half-written columns
        }
    }

    /// <summary>
    /// Small-row kernels only for a pass of at most <see cref="SmallRowLinear.MaxRows"/> tokens, decided once here so
    /// that a larger batch pays none of their per-call checks (about 60 native calls a step).
    /// </summary>
    private static bool Few(Tensor inputIds, bool smallRows) => smallRows && inputIds.numel() <= SmallRowLinear.MaxRows;

    /// <summary>Final-normed hidden states (B, T, C) of <paramref name="inputIds"/> (B, T).</summary>
    public override Tensor forward(Tensor inputIds, AttentionContext ctx)
    {
        using var scope = NewDisposeScope();
        var x = _embed.call(inputIds);                                               // (B, T, C)
        foreach (var block in _layers) x = block.call(x, ctx);                       // (B, T, C)
        return _norm.Forward(x, ctx.DecodeStep, ctx.TrainingKernels).MoveToOuterDisposeScope(); // (B, T, C)
    }
}
