using Ponder.Policy;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Ponder.Rewards;

/// <summary>
/// A reward model: the Llama trunk of a policy (<c>model.*</c>, final-normed hidden states) and a scalar head
/// <c>score.weight</c> (1, C) without bias, as Hugging Face <c>LlamaForSequenceClassification</c> with one label.
/// The head's output at a token is a logit; its sigmoid is P(correct) of the text up to that token.
/// </summary>
/// <remarks>
/// Where the score is read is the caller's choice (<see cref="StepText"/>): an ORM at the end of a complete
/// solution, a PRM at the end of every step. Because attention is causal, one forward pass over a whole
/// solution gives every step prefix's score, and right padding is harmless.
/// </remarks>
public sealed class RewardModel : nn.Module<Tensor, Tensor>
{
    /// <summary>HF name of the head; its shape must be (1, hidden_size).</summary>
    public const string HeadName = "score.weight";

    /// <summary>The <c>architectures</c> entry of a reward model's config.json.</summary>
    public const string Architecture = "LlamaForSequenceClassification";

    [ComponentName(Name = "model")] private readonly Decoder _model;
    [ComponentName(Name = "score")] private readonly Linear _score;
    private readonly Rotary _rotary;

    /// <summary>Builds the trunk from <paramref name="config"/> (weights to be loaded) and a zero head (P = 0.5 everywhere).</summary>
    public RewardModel(TransformerConfig config) : base(nameof(RewardModel))
    {
        ArgumentNullException.ThrowIfNull(config);
        Config = config with { Architectures = [Architecture], TieWordEmbeddings = false };
        _model = new Decoder(Config, null);
        _score = nn.Linear(config.HiddenSize, 1, hasBias: false);
        _rotary = new Rotary(Config.HeadDim, Config.MaxPositions, Config.RopeTheta);
        RegisterComponents();
        using var noGrad = no_grad();
        _score.weight!.zero_();
    }

    public TransformerConfig Config { get; }

    public Device Device => _score.weight!.device;

    /// <summary>Trainable parameters.</summary>
    public long ParameterCount => parameters().Sum(p => p.numel());

    /// <summary>
    /// Forward FLOPs for one token at a context of <paramref name="contextLength"/> tokens: 2 per weight of every
    /// matmul (all parameters but the embedding lookup) plus 2·layers·context·hidden for attention.
    /// </summary>
    public double FlopsPerToken(int contextLength)
    {
        var c = Config;
        return 2.0 * (ParameterCount - (double)c.VocabSize * c.HiddenSize) + 2.0 * c.NumLayers * contextLength * c.HiddenSize;
    }

    /// <summary>A reward model whose trunk is a copy of <paramref name="policy"/>'s (the head starts at zero).</summary>
    public static RewardModel FromPolicy(Policy.Transformer policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        var rm = new RewardModel(policy.Config);
        var source = policy.named_parameters().ToDictionary(p => p.name, p => p.parameter, StringComparer.Ordinal);
        using var noGrad = no_grad();
        foreach (var (name, p) in rm.named_parameters())
        {
            if (name == HeadName) continue;
            p.copy_(source[name]);
        }
        rm.to(policy.Device);
        return rm;
    }

    /// <summary>Score logits (B, T) at every position of <paramref name="inputIds"/> (B, T).</summary>
    public override Tensor forward(Tensor inputIds)
    {
        using var scope = NewDisposeScope();
        return _score.call(Hidden(inputIds)).squeeze(-1).MoveToOuterDisposeScope();   // (B, T)
    }

    /// <summary>
    /// Score logits (N) read at <paramref name="rows"/>[n], <paramref name="positions"/>[n] (both (N) int64) of
    /// <paramref name="inputIds"/> (B, T): the head runs only where a score is wanted.
    /// </summary>
    public Tensor ScoresAt(Tensor inputIds, Tensor rows, Tensor positions)
    {
        using var scope = NewDisposeScope();
        var hidden = Hidden(inputIds);                                                // (B, T, C)
        var (b, t, c) = (hidden.shape[0], hidden.shape[1], hidden.shape[2]);
        var picked = hidden.reshape(b * t, c).index_select(0, rows * t + positions);  // (N, C)
        return _score.call(picked).squeeze(-1).MoveToOuterDisposeScope();             // (N)
    }

    /// <summary>Final-normed hidden states (B, T, C) with full causal attention at positions 0…T−1.</summary>
    public Tensor Hidden(Tensor inputIds)
    {
        using var scope = NewDisposeScope();
        var t = inputIds.shape[1];
        if (t > Config.MaxPositions)
            throw new ArgumentException($"{t} tokens exceed max_position_embeddings = {Config.MaxPositions}.", nameof(inputIds));
        var positions = arange(t, ScalarType.Int64, inputIds.device).unsqueeze(0);  // (1, T)
        var (cos, sin) = _rotary.Lookup(positions, _score.weight!.dtype);            // (1, 1, T, hs)
        return _model.call(inputIds, new AttentionContext(cos, sin, null, null, Fused: !is_grad_enabled())).MoveToOuterDisposeScope(); // (B, T, C)
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _rotary.Dispose();
        base.Dispose(disposing);
    }
}
