using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Ponder.Policy;

/// <summary>
/// Llama-architecture decoder (also Qwen2 via <see cref="TransformerConfig.AttentionBias"/>): token ids in,
/// logits out. Parameter names are exactly Hugging Face <c>LlamaForCausalLM</c>'s (<c>model.layers.0.self_attn.q_proj.weight</c>, …).
/// </summary>
/// <remarks>
/// With <see cref="TransformerConfig.TieWordEmbeddings"/> there is no <c>lm_head</c> module at all: the head
/// multiplies by <c>model.embed_tokens.weight</c>, so <c>lm_head.weight</c> appears in neither
/// <c>named_parameters</c> nor <c>state_dict</c> (as in HF safetensors of tied models).
/// Two paths: <see cref="forward"/> / <see cref="Hidden(Tensor)"/> run full causal attention at positions
/// 0…T−1 (training; right padding is harmless because attention is causal), and the <see cref="KvCache"/>
/// overloads append tokens to an explicit cache (inference). Without gradients both paths fuse the q/k/v and gate/up
/// projections into single matmuls over the same parameter storage (<see cref="FuseProjections"/>), and cached appends
/// (decode steps, prefills) on the CPU run in C# kernels (<see cref="SmallRowKernels"/>).
/// </remarks>
public sealed class Transformer : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "model")] private readonly Decoder _model;
    [ComponentName(Name = "lm_head")] private readonly Linear? _lmHead;
    private readonly Rotary _rotary;

    public Transformer(TransformerConfig config) : this(config, null)
    {
    }

    /// <summary>Builds the model directly on <paramref name="device"/> (e.g. <c>torch.META</c> for shape checks).</summary>
    public Transformer(TransformerConfig config, Device? device) : base(nameof(Transformer))
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.ExplicitHeadDim is null && config.HiddenSize % config.NumHeads != 0)
            throw new ArgumentException($"hidden_size {config.HiddenSize} is not a multiple of num_attention_heads {config.NumHeads}.", nameof(config));
        if (config.NumKvHeads <= 0 || config.NumHeads % config.NumKvHeads != 0)
            throw new ArgumentException($"num_attention_heads {config.NumHeads} is not a multiple of num_key_value_heads {config.NumKvHeads}.", nameof(config));
        Config = config;
        _model = new Decoder(config, device);
        _lmHead = config.TieWordEmbeddings ? null : nn.Linear(config.HiddenSize, config.VocabSize, hasBias: false, device: device);
        _rotary = new Rotary(config.HeadDim, config.MaxPositions, config.RopeTheta, config.RopeScaling);
        RegisterComponents();
        Initialize();
    }

    public TransformerConfig Config { get; }

    /// <summary>
    /// Whether forward passes without gradients (under <c>no_grad</c> or <c>inference_mode</c>) run q/k/v and gate/up
    /// as single fused matmuls; true by default. False runs every projection separately, as training does (to compare).
    /// </summary>
    public bool FuseProjections { get; set; } = true;

    private bool Fused => FuseProjections && !is_grad_enabled();

    /// <summary>
    /// Whether fused forward passes on the CPU run in Ponder's own C# kernels instead of libtorch's ops; true by
    /// default. A cached append of any batch (a decode step, a prefill) runs whole in C#, one pass per thread over its
    /// rows (<see cref="FusedAppend"/>: the tiled linears, RMS norms, rotary, SiLU gating, KV-cache write and attention),
    /// and the head runs on <see cref="SmallRowLinear"/> or <see cref="TiledLinear"/>. A full causal pass over at most
    /// four tokens in all runs its linears on <see cref="SmallRowLinear"/>; a cached append the fused pass does not
    /// take (a float16 cache, widths that are not whole vectors, a very long prefill) runs its norms, rotary, gating and
    /// attention in C# when it is at most four tokens a row. Applies only without gradients, to float32 activations, and
    /// together with <see cref="FuseProjections"/>; false always uses libtorch (to compare).
    /// </summary>
    public bool SmallRowKernels { get; set; } = true;

    private bool SmallRows => SmallRowKernels && Fused;

    /// <summary>
    /// Whether the full causal pass with gradients on the CPU in float32 (training) runs rotary and attention as one C#
    /// autograd node (<see cref="CausalAttentionFunction"/>), RMS norms (<see cref="RmsNormFunction"/>) and SwiGLU gating
    /// (<see cref="SiluGateFunction"/>) as their own, and q/k/v as one matmul. Gradients match libtorch's ops within
    /// rounding, but rounding moves a long run's learning curve: the 2000-step SFT recipe with the nodes ended at 75.5–78.0 %
    /// held-out greedy against the shipped policy's 55.5 % (one seed each); <see cref="Learning.SftPresets"/> says how the
    /// default schedule's length was chosen. False here; true by default in the options of every trainer (SFT, RL, DPO,
    /// reviser; <see cref="Rewards.RewardModel.TrainingKernels"/> for reward models), which set it. Faster:
    /// 1.17–1.35× libtorch's ops in <c>bench --train</c> (BENCHMARKS.md, twentieth stop; <c>bench --train-profile</c>
    /// shows where a step goes).
    /// </summary>
    public bool TrainingKernels { get; set; }

    /// <summary>Device of the parameters (follows <c>.to(device)</c>).</summary>
    public Device Device => _model.Embedding.weight!.device;

    /// <summary>Element type of the parameters.</summary>
    public ScalarType DType => _model.Embedding.weight!.dtype;

    /// <summary>Trainable parameters (a tied embedding counts once).</summary>
    public long ParameterCount => parameters().Sum(p => p.numel());

    /// <summary>
    /// Forward-pass FLOPs for one token at a context of <paramref name="contextLength"/> tokens (Kaplan et al.
    /// 2020): 2 per weight of every matmul (all parameters except the input embedding, which is a lookup; the
    /// output head counts even when tied, since it is a real V×C matmul) plus 2·layers·context·hidden for the
    /// attention scores and weighted sum. Norm gains and biases are counted as weights (negligible).
    /// Training costs about three times this.
    /// </summary>
    public double FlopsPerToken(int contextLength)
    {
        var c = Config;
        var embedding = (double)c.VocabSize * c.HiddenSize;
        var matmulWeights = ParameterCount - embedding + (c.TieWordEmbeddings ? embedding : 0);
        return 2 * matmulWeights + 2.0 * c.NumLayers * contextLength * c.HiddenSize;
    }

    /// <summary>Logits (B, T, V) of <paramref name="inputIds"/> (B, T) with full causal attention.</summary>
    public override Tensor forward(Tensor inputIds)
    {
        using var scope = NewDisposeScope();
        return Logits(Hidden(inputIds)).MoveToOuterDisposeScope();                   // (B, T, V)
    }

    /// <summary>Final-normed hidden states (B, T, C) with full causal attention at positions 0…T−1.</summary>
    public Tensor Hidden(Tensor inputIds) => _model.Causal(inputIds, _rotary, DType, Fused, SmallRows, TrainingKernels && !Fused);

    /// <summary>
    /// Logits (B, T, V) of packed rows (<see cref="PackedRows"/>): each row holds several sequences end to end, each
    /// attending only within itself at positions from 0, so each gets the logits a row of its own would give it (within
    /// rounding). Training batches carry less padding this way (<see cref="Learning.SftBatch.Pack"/>).
    /// </summary>
    public Tensor Packed(Tensor inputIds, PackedRows rows)
    {
        using var scope = NewDisposeScope();
        return Logits(Hidden(inputIds, rows)).MoveToOuterDisposeScope();            // (B, T, V)
    }

    /// <summary>Final-normed hidden states (B, T, C) of packed rows; see <see cref="Packed"/>.</summary>
    public Tensor Hidden(Tensor inputIds, PackedRows rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        return _model.Causal(inputIds, _rotary, DType, Fused, smallRows: false, TrainingKernels && !Fused, rows); // (B, T, C)
    }

    /// <summary>
    /// Whether a pass with gradients runs attention on the C# node (<see cref="TrainingKernels"/>, on the CPU in float32),
    /// where packed rows cost each sequence only its own length squared: what trainers check before packing a batch.
    /// </summary>
    public bool PacksCheaply => TrainingKernels && is_grad_enabled() && CausalAttentionFunction.Takes(Device, DType, Config.HeadDim);

    /// <summary>
    /// Final-normed hidden states (B, T, C) of <paramref name="inputIds"/> (B, T) appended to <paramref name="cache"/>.
    /// <paramref name="valid"/> (B, T) bool marks real tokens; false slots are padding (never attended to,
    /// no position consumed). Null means all real. Throws if a real token would get a position ≥ MaxPositions.
    /// </summary>
    public Tensor Hidden(Tensor inputIds, KvCache cache, Tensor? valid = null) => Hidden(inputIds, cache, valid, checkPositions: true);

    /// <summary>Logits (B, T, V) of tokens appended to <paramref name="cache"/>; see <see cref="Hidden(Tensor, KvCache, Tensor?)"/>.</summary>
    public Tensor Forward(Tensor inputIds, KvCache cache, Tensor? valid = null)
    {
        using var scope = NewDisposeScope();
        return Logits(Hidden(inputIds, cache, valid)).MoveToOuterDisposeScope();     // (B, T, V)
    }

    /// <summary>Applies the output head to hidden states (…, C) → logits (…, V).</summary>
    public Tensor Logits(Tensor hidden)
    {
        var weight = _lmHead?.weight ?? _model.Embedding.weight!;
        if (!SmallRows) return _lmHead is null ? SmallRowLinear.Linear(hidden, weight, null, enabled: false) : _lmHead.call(hidden);
        if (SmallRowLinear.Applies(hidden, weight, null)) return SmallRowLinear.Forward(hidden, weight, null);
        // A decode step's rows (or a prefill's last positions): the tiled C# kernel, not libtorch's per-call cost.
        if (hidden.numel() <= MaxTiledHeadRows * hidden.size(-1) && TiledLinear.Applies(hidden, weight)) return TiledLinear.Forward(hidden, weight);
        return nn.functional.linear(hidden, weight);
    }

    /// <summary>
    /// Logits (B, V) of a one-token append of <paramref name="inputIds"/> (B, 1) to <paramref name="cache"/> (a decode
    /// step): <see cref="Logits"/> of <see cref="Hidden(Tensor, KvCache, Tensor?)"/>'s rows, positions unchecked (the
    /// caller tracks them). Where the C# append runs and the head would take <see cref="TiledLinear"/> (more than
    /// <see cref="SmallRowLinear.MaxRows"/> rows, at most <see cref="MaxTiledHeadRows"/>), the head runs in the same
    /// pass, each thread on its rows: the same values, without a second call.
    /// </summary>
    internal Tensor StepLogits(Tensor inputIds, KvCache cache, Tensor? valid)
    {
        var weight = _lmHead?.weight ?? _model.Embedding.weight!;
        var rows = inputIds.size(0);
        var head = SmallRows && inputIds.dim() == 2 && inputIds.size(1) == 1 && rows > SmallRowLinear.MaxRows && rows <= MaxTiledHeadRows ? weight : null;
        var hidden = _model.Appended(inputIds, cache, valid, checkPositions: false, _rotary, DType, Fused, SmallRows, head, out var logits); // (B, 1, C)
        if (logits is not null)
        {
            hidden.Dispose();
            return logits;
        }
        using var last = hidden.select(1, 0);                                          // (B, C)
        using (hidden) return Logits(last);
    }

    /// <summary>Rows of hidden states up to which the head runs on <see cref="TiledLinear"/> (a batch of decode steps); more take libtorch's matmul.</summary>
    internal const int MaxTiledHeadRows = 1024;

    /// <summary>
    /// Element type the KV cache stores keys and values in; null (the default) is <see cref="DefaultKvCacheType"/>.
    /// <c>BFloat16</c> on a float32 model halves the bytes a decode step reads from the cache (as llama.cpp's default
    /// f16 cache does); attention still computes in float32, on keys and values rounded to bfloat16 when written.
    /// <c>Float32</c> keeps them exact.
    /// </summary>
    public ScalarType? KvCacheType
    {
        get => _kvCacheType;
        set => _kvCacheType = value is null or ScalarType.Float32 or ScalarType.BFloat16 or ScalarType.Float16 ? value
            : throw new ArgumentException($"KV cache type {value} is not supported (float32, bfloat16, float16)", nameof(value));
    }

    private ScalarType? _kvCacheType;

    /// <summary>
    /// The cache's element type when <see cref="KvCacheType"/> is null: bfloat16 where a float32 model decodes in the
    /// C# kernels on the CPU (at a batch-64 decode step most of the bytes read are the cache's; greedy accuracy of the
    /// shipped policy is the same with either cache, BENCHMARKS.md), else the model's own <see cref="DType"/>.
    /// </summary>
    public ScalarType DefaultKvCacheType =>
        DType == ScalarType.Float32 && Device.type == TorchSharp.DeviceType.CPU && SmallRowKernels && FuseProjections ? ScalarType.BFloat16 : DType;

    /// <summary>An empty cache on this model's device, in <see cref="KvCacheType"/> (default: <see cref="DefaultKvCacheType"/>).</summary>
    public KvCache NewCache(int batch, int capacity) => new(Config, batch, capacity, Device, KvCacheType ?? DefaultKvCacheType);

    internal Tensor Hidden(Tensor inputIds, KvCache cache, Tensor? valid, bool checkPositions) =>
        _model.Appended(inputIds, cache, valid, checkPositions, _rotary, DType, Fused, SmallRows);

    // Normal(0, initializer_range) for linears and embeddings, ones for norms (their constructor), zero biases.
    // The projections that write into the residual stream (o_proj, down_proj) get std / sqrt(2·layers), as in
    // GPT-2, so the residual variance does not grow with depth.
    private void Initialize()
    {
        using var noGrad = no_grad();
        var std = Config.InitializerRange;
        var residualStd = std / Math.Sqrt(2.0 * Config.NumLayers);
        nn.init.normal_(_model.Embedding.weight!, 0, std);
        if (_lmHead is not null) nn.init.normal_(_lmHead.weight!, 0, std);
        foreach (var block in _model.Layers)
        {
            foreach (var (name, p) in block.named_parameters())
            {
                if (name.EndsWith(".bias", StringComparison.Ordinal)) p.zero_();
                else if (name.EndsWith("proj.weight", StringComparison.Ordinal)) nn.init.normal_(p, 0, std);
            }
            nn.init.normal_(block.Attention.OutputProjection.weight!, 0, residualStd);
            nn.init.normal_(block.Mlp.OutputProjection.weight!, 0, residualStd);
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _rotary.Dispose();
        base.Dispose(disposing);
    }
}
