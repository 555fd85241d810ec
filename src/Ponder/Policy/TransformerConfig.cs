using System.Text.Json.Serialization;

namespace Ponder.Policy;

/// <summary>
/// Llama-architecture hyper-parameters, serialized with Hugging Face <c>LlamaConfig</c> field names
/// so that <c>config.json</c> is interchangeable with transformers.
/// </summary>
public sealed record TransformerConfig
{
    /// <summary>Tokens the embedding and head cover.</summary>
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; } = 128;
    /// <summary>Residual stream width (d_model).</summary>
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; init; } = 128;
    /// <summary>SwiGLU inner width; Llama uses about 8/3 of hidden_size.</summary>
    [JsonPropertyName("intermediate_size")] public int IntermediateSize { get; init; } = 352;
    /// <summary>Transformer blocks.</summary>
    [JsonPropertyName("num_hidden_layers")] public int NumLayers { get; init; } = 4;
    /// <summary>Query heads.</summary>
    [JsonPropertyName("num_attention_heads")] public int NumHeads { get; init; } = 4;
    /// <summary>Key/value heads; fewer than query heads gives grouped-query attention.</summary>
    [JsonPropertyName("num_key_value_heads")] public int NumKvHeads { get; init; } = 4;
    /// <summary>Longest sequence the rotary tables and KV cache are sized for.</summary>
    [JsonPropertyName("max_position_embeddings")] public int MaxPositions { get; init; } = 256;
    /// <summary>RMSNorm epsilon.</summary>
    [JsonPropertyName("rms_norm_eps")] public double RmsNormEps { get; init; } = 1e-5;
    /// <summary>Rotary base frequency.</summary>
    [JsonPropertyName("rope_theta")] public double RopeTheta { get; init; } = 10000.0;
    /// <summary>How the rotary frequencies are stretched for a longer context (Llama 3.1's llama3, linear); null for none.</summary>
    [JsonPropertyName("rope_scaling"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public RopeScaling? RopeScaling { get; init; }
    /// <summary>Share the input embedding with the output head (saves parameters in small models).</summary>
    [JsonPropertyName("tie_word_embeddings")] public bool TieWordEmbeddings { get; init; }
    /// <summary>Bias on q/k/v projections (Qwen2 has it, Llama does not).</summary>
    [JsonPropertyName("attention_bias")] public bool AttentionBias { get; init; }
    /// <summary>Read from a number or, as HF allows, a list (its first entry); null reads as −1 (none).</summary>
    [JsonPropertyName("bos_token_id"), JsonConverter(typeof(TokenIdConverter))] public int BosTokenId { get; init; } = 1;
    /// <summary>Read like <see cref="BosTokenId"/>: Llama 3 lists several end tokens; the first is kept.</summary>
    [JsonPropertyName("eos_token_id"), JsonConverter(typeof(TokenIdConverter))] public int EosTokenId { get; init; } = 2;
    [JsonPropertyName("pad_token_id")] public int? PadTokenId { get; init; }
    /// <summary>"llama" or "qwen2".</summary>
    [JsonPropertyName("model_type")] public string ModelType { get; init; } = "llama";
    [JsonPropertyName("architectures")] public string[] Architectures { get; init; } = ["LlamaForCausalLM"];
    [JsonPropertyName("hidden_act")] public string HiddenAct { get; init; } = "silu";
    [JsonPropertyName("torch_dtype")] public string TorchDtype { get; init; } = "float32";
    /// <summary>Std of the normal initialization of linear and embedding weights.</summary>
    [JsonPropertyName("initializer_range")] public double InitializerRange { get; init; } = 0.02;

    /// <summary>Head width when a checkpoint sets it apart from hidden_size / heads (HF <c>head_dim</c>); null derives it.</summary>
    [JsonPropertyName("head_dim"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public int? ExplicitHeadDim { get; init; }

    /// <summary>Width of one attention head.</summary>
    [JsonIgnore] public int HeadDim => ExplicitHeadDim ?? HiddenSize / NumHeads;

    /// <summary>Longest context Ponder sizes its rotary tables for (2²⁰, as <c>train sft --context</c>).</summary>
    public const int MaxSupportedPositions = 1 << 20;

    /// <summary>
    /// The first field a model cannot be built from, as "field: problem" (a zero or negative size, heads that do not
    /// divide the width, a special token outside the vocabulary, a non-positive epsilon or rotary base), or null when
    /// every field is usable. Checked before any tensor is allocated.
    /// </summary>
    public string? Invalid()
    {
        static string? Range(string field, long value, long min, long max) =>
            value < min || value > max ? $"{field} is {value}; it must be {min:N0} to {max:N0}" : null;
        return Range("vocab_size", VocabSize, 1, 1 << 24)
            ?? Range("hidden_size", HiddenSize, 1, 1 << 17)
            ?? Range("intermediate_size", IntermediateSize, 1, 1 << 20)
            ?? Range("num_hidden_layers", NumLayers, 1, 1024)
            ?? Range("num_attention_heads", NumHeads, 1, HiddenSize)
            ?? Range("num_key_value_heads", NumKvHeads, 1, NumHeads)
            ?? (NumHeads % NumKvHeads != 0 ? $"num_key_value_heads {NumKvHeads} does not divide num_attention_heads {NumHeads}" : null)
            ?? (ExplicitHeadDim is null && HiddenSize % NumHeads != 0 ? $"num_attention_heads {NumHeads} does not divide hidden_size {HiddenSize}" : null)
            ?? Range("head_dim", HeadDim, 2, 1 << 12)
            ?? (HeadDim % 2 != 0 ? $"head_dim {HeadDim} is odd; rotary embeddings rotate pairs of features" : null)
            ?? Range("max_position_embeddings", MaxPositions, 1, MaxSupportedPositions)
            ?? (!(RmsNormEps > 0) ? $"rms_norm_eps is {RmsNormEps}; it must be positive" : null)
            ?? (!(RopeTheta > 0) || double.IsInfinity(RopeTheta) ? $"rope_theta is {RopeTheta}; it must be positive" : null)
            ?? RopeScaling?.Invalid()
            ?? Token("bos_token_id", BosTokenId)
            ?? Token("eos_token_id", EosTokenId)
            ?? (PadTokenId is int pad ? Token("pad_token_id", pad) : null);

        string? Token(string field, int id) => id == -1 || (id >= 0 && id < VocabSize) ? null
            : $"{field} is {id}; it must be a token of the vocabulary (0 to {VocabSize - 1}) or null";
    }
}
