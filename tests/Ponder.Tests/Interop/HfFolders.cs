using System.Text.Json.Nodes;
using Ponder.Interop;
using Ponder.Policy;
using Ponder.Tests.Policy;
using TorchSharp;
using static TorchSharp.torch;

namespace Ponder.Tests.Interop;

/// <summary>Writes tiny Hugging Face-layout folders (random weights, the hand-made BPE vocabulary), as transformers would save them.</summary>
internal static class HfFolders
{
    private const string Llama3Split = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    private const string Qwen2Split = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    /// <summary>
    /// A Llama 3-style folder: head_dim 16 with hidden 48 (so head_dim ≠ hidden / heads), GQA, untied head, an
    /// <c>eos_token_id</c> list, extra config fields, F32 weights in two shards with an index, no ponder.json.
    /// Returns the model whose weights were written.
    /// </summary>
    public static Transformer Llama(string dir)
    {
        var config = new TransformerConfig
        {
            VocabSize = TinyBpe.VocabSize + 3, HiddenSize = 48, ExplicitHeadDim = 16, IntermediateSize = 80, NumLayers = 2,
            NumHeads = 4, NumKvHeads = 2, MaxPositions = 64, RopeTheta = 500.0, InitializerRange = 0.3,
        };
        var model = Seeded(config, 11);
        var weights = model.named_parameters().ToList();
        var first = weights.Where(p => p.name.StartsWith("model.embed_tokens", StringComparison.Ordinal) || p.name.StartsWith("model.layers.0.", StringComparison.Ordinal)).ToList();
        var second = weights.Except(first).ToList();
        Safetensors.Save(Path.Combine(dir, "model-00001-of-00002.safetensors"), first.Select(p => KeyValuePair.Create(p.name, (Tensor)p.parameter)), SafetensorsDType.F32);
        Safetensors.Save(Path.Combine(dir, "model-00002-of-00002.safetensors"), second.Select(p => KeyValuePair.Create(p.name, (Tensor)p.parameter)), SafetensorsDType.F32);
        var map = new JsonObject();
        foreach (var p in first) map[p.name] = "model-00001-of-00002.safetensors";
        foreach (var p in second) map[p.name] = "model-00002-of-00002.safetensors";
        File.WriteAllText(Path.Combine(dir, SafetensorsShards.IndexFile), new JsonObject { ["metadata"] = new JsonObject { ["total_size"] = 0 }, ["weight_map"] = map }.ToJsonString());
        File.WriteAllText(Path.Combine(dir, "config.json"), $$"""
            {
              "architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
              "bos_token_id": {{TinyBpe.Id("<|begin_of_text|>")}}, "eos_token_id": [{{TinyBpe.Id("<|end_of_text|>")}}, {{TinyBpe.Id("<|eot_id|>")}}],
              "head_dim": 16, "hidden_act": "silu", "hidden_size": 48, "initializer_range": 0.02, "intermediate_size": 80,
              "max_position_embeddings": 64, "mlp_bias": false, "model_type": "llama", "num_attention_heads": 4,
              "num_hidden_layers": 2, "num_key_value_heads": 2, "pretraining_tp": 1, "rms_norm_eps": 1e-05,
              "rope_scaling": null, "rope_theta": 500.0, "tie_word_embeddings": false, "torch_dtype": "float32",
              "transformers_version": "4.46.0", "use_cache": true, "vocab_size": {{config.VocabSize}}
            }
            """);
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), TinyBpe.Json(Llama3Split, ignoreMerges: true));
        File.WriteAllText(Path.Combine(dir, ByteLevelBpeTokenizer.ConfigFile), TinyBpe.TokenizerConfig("<|begin_of_text|>", "<|eot_id|>", TinyBpe.Llama3Template));
        return model;
    }

    /// <summary>
    /// A Qwen2-style folder: q/k/v biases implied by model_type (no attention_bias field), tied embeddings, one BF16
    /// <c>model.safetensors</c>, no ponder.json. Returns the model with its weights rounded through BF16, i.e. exactly
    /// what the folder holds.
    /// </summary>
    public static Transformer Qwen2(string dir)
    {
        var config = new TransformerConfig
        {
            VocabSize = TinyBpe.VocabSize, HiddenSize = 64, IntermediateSize = 96, NumLayers = 2, NumHeads = 4, NumKvHeads = 2,
            MaxPositions = 64, RopeTheta = 1000.0, RmsNormEps = 1e-6, InitializerRange = 0.3, TieWordEmbeddings = true, AttentionBias = true,
        };
        var model = Seeded(config, 12);
        using (var noGrad = no_grad())
        {
            foreach (var (name, p) in model.named_parameters())
            {
                if (name.EndsWith(".bias", StringComparison.Ordinal)) nn.init.normal_(p, 0, 0.5);   // biases start at zero; make them matter
                p.copy_(p.to(ScalarType.BFloat16).to(ScalarType.Float32));
            }
        }
        Safetensors.Save(Path.Combine(dir, "model.safetensors"), model.named_parameters().Select(p => KeyValuePair.Create(p.name, (Tensor)p.parameter)), SafetensorsDType.BF16);
        File.WriteAllText(Path.Combine(dir, "config.json"), $$"""
            {
              "architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": {{TinyBpe.Id("<|end_of_text|>")}},
              "eos_token_id": {{TinyBpe.Id("<|im_end|>")}}, "hidden_act": "silu", "hidden_size": 64, "initializer_range": 0.02,
              "intermediate_size": 96, "max_position_embeddings": 64, "max_window_layers": 21, "model_type": "qwen2",
              "num_attention_heads": 4, "num_hidden_layers": 2, "num_key_value_heads": 2, "rms_norm_eps": 1e-06,
              "rope_theta": 1000.0, "sliding_window": 32768, "tie_word_embeddings": true, "torch_dtype": "bfloat16",
              "transformers_version": "4.43.1", "use_cache": true, "use_sliding_window": false, "vocab_size": {{config.VocabSize}}
            }
            """);
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), TinyBpe.Json(Qwen2Split));
        File.WriteAllText(Path.Combine(dir, ByteLevelBpeTokenizer.ConfigFile), new JsonObject
        {
            ["bos_token"] = null, ["eos_token"] = "<|im_end|>", ["pad_token"] = "<|end_of_text|>", ["chat_template"] = TinyBpe.QwenTemplate,
        }.ToJsonString());
        return model;
    }

    private static Transformer Seeded(TransformerConfig config, long seed)
    {
        torch.manual_seed(seed);
        var model = new Transformer(config);
        model.eval();
        return model;
    }
}
