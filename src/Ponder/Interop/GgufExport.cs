using Ponder.Policy;
using TorchSharp;
using static TorchSharp.torch;

namespace Ponder.Interop;

/// <summary>
/// Writes a <see cref="Transformer"/> and its tokenizer as a GGUF v3 file that llama.cpp loads as architecture
/// <c>llama</c>: hyper-parameters under <c>llama.*</c>, tensors under llama.cpp's names, tokenizer under
/// <c>tokenizer.ggml.*</c>. Rope scaling as llama.cpp's converter writes it: linear and yarn as <c>llama.rope.scaling.*</c>,
/// llama3 (Llama 3.1/3.2) as a <c>rope_freqs</c> tensor of per-frequency divisors.
/// </summary>
/// <remarks>
/// Rotary convention: Ponder (like HF) rotates channel i of a head together with channel i + hs/2; llama.cpp's llama
/// rope rotates neighbours (2i, 2i+1). So the rows of q_proj and k_proj (and their biases) are permuted per head —
/// row (half h, index i) moves to row 2i + h — which makes llama.cpp's pairs exactly Ponder's pairs. Attention scores
/// are unchanged because q and k get the same permutation. Matrices are written in the chosen type; 1-D tensors (norm
/// gains, biases) stay F32, as llama.cpp's converter does.
/// </remarks>
public static class GgufExport
{
    /// <summary>Writes <paramref name="path"/>; <paramref name="type"/> is F32 (exact) or F16 (half the size).</summary>
    public static void Write(string path, Transformer model, ITokenizer tokenizer, GgufTensorType type, string name = "ponder") =>
        Write(path, model, tokenizer, type, name, permuteRotary: true);

    /// <summary>As <see cref="Write(string, Transformer, ITokenizer, GgufTensorType, string)"/>; tests turn the rotary permutation off to show it matters.</summary>
    internal static void Write(string path, Transformer model, ITokenizer tokenizer, GgufTensorType type, string name, bool permuteRotary)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        var c = model.Config;
        var vocabulary = GgufVocabulary.From(tokenizer, c.VocabSize);
        var gguf = new GgufWriter();
        gguf.AddString("general.architecture", "llama");
        gguf.AddString("general.name", name);
        gguf.AddUInt32("general.file_type", type == GgufTensorType.F16 ? 1u : 0u);   // llama.cpp's ALL_F32 / MOSTLY_F16
        gguf.AddUInt32("llama.context_length", (uint)c.MaxPositions);
        gguf.AddUInt32("llama.embedding_length", (uint)c.HiddenSize);
        gguf.AddUInt32("llama.block_count", (uint)c.NumLayers);
        gguf.AddUInt32("llama.feed_forward_length", (uint)c.IntermediateSize);
        gguf.AddUInt32("llama.attention.head_count", (uint)c.NumHeads);
        gguf.AddUInt32("llama.attention.head_count_kv", (uint)c.NumKvHeads);
        gguf.AddFloat32("llama.attention.layer_norm_rms_epsilon", (float)c.RmsNormEps);
        gguf.AddFloat32("llama.rope.freq_base", (float)c.RopeTheta);
        gguf.AddUInt32("llama.rope.dimension_count", (uint)c.HeadDim);
        if (c.RopeScaling is { RopeType: "linear" } linear)
        {
            gguf.AddString("llama.rope.scaling.type", "linear");
            gguf.AddFloat32("llama.rope.scaling.factor", (float)linear.Factor);
        }
        else if (c.RopeScaling is { RopeType: "yarn" } yarn)
        {
            // llama.cpp's yarn takes beta 32 and 1 and the attention factor 0.1·ln(factor) + 1 from the factor itself.
            if (yarn.BetaFast is not (null or 32) || yarn.BetaSlow is not (null or 1) || yarn.YarnAttentionFactor is not null)
                throw new NotSupportedException("GGUF export: yarn rope scaling with its own beta_fast, beta_slow or attention_factor is not written (llama.cpp's converter writes the defaults only)");
            gguf.AddString("llama.rope.scaling.type", "yarn");
            gguf.AddFloat32("llama.rope.scaling.factor", (float)yarn.Factor);
            gguf.AddUInt32("llama.rope.scaling.original_context_length", (uint)yarn.OriginalMaxPositions!.Value);
        }
        if (c.ExplicitHeadDim is not null)
        {
            gguf.AddUInt32("llama.attention.key_length", (uint)c.HeadDim);
            gguf.AddUInt32("llama.attention.value_length", (uint)c.HeadDim);
        }
        gguf.AddUInt32("llama.vocab_size", (uint)c.VocabSize);
        AddTokenizer(gguf, vocabulary, tokenizer);

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var weights = model.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter, StringComparer.Ordinal);
        Tensor Weight(string hfName) => weights.TryGetValue(hfName, out var t) ? t
            : throw new InvalidOperationException($"GGUF export: the model has no parameter '{hfName}'");
        void Matrix(string ggufName, Tensor t) => gguf.AddTensor(ggufName, t, type);
        void Vector(string ggufName, Tensor t) => gguf.AddTensor(ggufName, t, GgufTensorType.F32);

        Matrix("token_embd.weight", Weight(Checkpoint.EmbeddingName));
        if (c.RopeScaling is { RopeType: "llama3" } llama3)   // as llama.cpp's converter: each frequency's divisor
            Vector("rope_freqs.weight", tensor(llama3.Llama3Divisors(Rotary.InverseFrequencies(c.HeadDim, c.RopeTheta).data<float>().ToArray(), c.RopeTheta)));
        for (int i = 0; i < c.NumLayers; i++)
        {
            string hf = $"model.layers.{i}.", blk = $"blk.{i}.";
            Tensor Rope(Tensor t, int heads) => permuteRotary ? PermuteRotary(t, heads) : t;
            Vector(blk + "attn_norm.weight", Weight(hf + "input_layernorm.weight"));
            Matrix(blk + "attn_q.weight", Rope(Weight(hf + "self_attn.q_proj.weight"), c.NumHeads));
            Matrix(blk + "attn_k.weight", Rope(Weight(hf + "self_attn.k_proj.weight"), c.NumKvHeads));
            Matrix(blk + "attn_v.weight", Weight(hf + "self_attn.v_proj.weight"));
            if (c.AttentionBias)
            {
                Vector(blk + "attn_q.bias", Rope(Weight(hf + "self_attn.q_proj.bias"), c.NumHeads));
                Vector(blk + "attn_k.bias", Rope(Weight(hf + "self_attn.k_proj.bias"), c.NumKvHeads));
                Vector(blk + "attn_v.bias", Weight(hf + "self_attn.v_proj.bias"));
            }
            Matrix(blk + "attn_output.weight", Weight(hf + "self_attn.o_proj.weight"));
            Vector(blk + "ffn_norm.weight", Weight(hf + "post_attention_layernorm.weight"));
            Matrix(blk + "ffn_gate.weight", Weight(hf + "mlp.gate_proj.weight"));
            Matrix(blk + "ffn_up.weight", Weight(hf + "mlp.up_proj.weight"));
            Matrix(blk + "ffn_down.weight", Weight(hf + "mlp.down_proj.weight"));
        }
        Vector("output_norm.weight", Weight("model.norm.weight"));
        if (!c.TieWordEmbeddings) Matrix("output.weight", Weight(Checkpoint.HeadName));   // absent: llama.cpp reuses token_embd
        gguf.Write(path);
    }

    /// <summary>
    /// Reorders the rows of a q/k projection weight (heads·hs, C) or bias (heads·hs) from HF's half-split rotary
    /// layout to llama.cpp's interleaved one: within each head, view the rows as (2, hs/2) and transpose to (hs/2, 2).
    /// </summary>
    internal static Tensor PermuteRotary(Tensor weight, int heads)
    {
        var shape = weight.shape;
        long hs = shape[0] / heads;
        var rest = shape.Skip(1).ToArray();
        return weight.reshape([heads, 2, hs / 2, .. rest])   // (h, 2, hs/2, …)
            .transpose(1, 2)                                 // (h, hs/2, 2, …)
            .reshape(shape);                                 // (h·hs, …)
    }

    private static void AddTokenizer(GgufWriter gguf, GgufVocabulary v, ITokenizer tokenizer)
    {
        gguf.AddString("tokenizer.ggml.model", v.Model);
        gguf.AddString("tokenizer.ggml.pre", v.Pre);
        gguf.AddStrings("tokenizer.ggml.tokens", v.Tokens);
        gguf.AddInt32s("tokenizer.ggml.token_type", v.Types);
        gguf.AddFloat32s("tokenizer.ggml.scores", v.Scores);
        gguf.AddStrings("tokenizer.ggml.merges", v.Merges);
        if (v.Bos >= 0) gguf.AddUInt32("tokenizer.ggml.bos_token_id", (uint)v.Bos);
        if (v.Eos >= 0) gguf.AddUInt32("tokenizer.ggml.eos_token_id", (uint)v.Eos);
        if (v.Pad >= 0) gguf.AddUInt32("tokenizer.ggml.padding_token_id", (uint)v.Pad);
        gguf.AddBool("tokenizer.ggml.add_bos_token", tokenizer.AddBos && v.Bos >= 0);   // as Prompting.Encode does
        if (tokenizer is ByteLevelBpeTokenizer { ChatTemplateSource: { } jinja })
            gguf.AddString("tokenizer.chat_template", jinja);
    }
}
