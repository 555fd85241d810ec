using System.Text.Json;
using Ponder.Policy;
using TorchSharp;
using static TorchSharp.torch;

namespace Ponder.Interop;

/// <summary>
/// Loads a Hugging Face Llama or Qwen2 folder (or a Ponder checkpoint, which is one): <c>config.json</c>,
/// <c>model.safetensors</c> or sharded weights with <c>model.safetensors.index.json</c> (F32, F16 or BF16, converted
/// to the requested dtype), <c>tokenizer.json</c>, and <c>ponder.json</c> when present — without it the task is unknown
/// (empty) and the state is that of an untrained-by-Ponder policy.
/// </summary>
public static class HfCheckpoint
{
    /// <summary>
    /// <c>config.json</c> read with HF's conventions: unknown fields ignored, <c>eos_token_id</c> possibly a list,
    /// Qwen2's q/k/v biases implied by <c>model_type</c>, rope scaling of the kinds <see cref="RopeScaling"/> computes.
    /// Features Ponder's transformer lacks (other rope scalings, sliding windows, MLP biases, other activations or
    /// architectures) are refused in one line naming the file.
    /// </summary>
    public static TransformerConfig ReadConfig(string dir)
    {
        var config = Checkpoint.ReadConfig(dir);
        string path = Path.Combine(dir, Checkpoint.ConfigFile);
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        var root = document.RootElement;
        bool Has(string field, out JsonElement value) => root.TryGetProperty(field, out value) && value.ValueKind != JsonValueKind.Null;

        if (config.ModelType is not ("llama" or "qwen2"))
            throw new NotSupportedException($"{path}: model_type '{config.ModelType}' is not supported (known: llama, qwen2)");
        if (config.HiddenAct != "silu")
            throw new NotSupportedException($"{path}: hidden_act '{config.HiddenAct}' is not supported (Ponder's MLP is SwiGLU with silu)");
        if (PartialRotary(root) is { } partial && partial != 1)
            throw new NotSupportedException($"{path}: partial_rotary_factor {partial} is not supported (Ponder rotates the whole head)");
        if (config.ModelType == "llama" && config.AttentionBias)
            throw new NotSupportedException($"{path}: attention_bias is true; a Llama model then has an o_proj bias, which Ponder's attention lacks");
        if (Has("use_sliding_window", out var sliding) && sliding.ValueKind == JsonValueKind.True)
            throw new NotSupportedException($"{path}: use_sliding_window is true; sliding-window attention is not supported");
        if (Has("mlp_bias", out var mlpBias) && mlpBias.ValueKind == JsonValueKind.True)
            throw new NotSupportedException($"{path}: mlp_bias is true; Ponder's MLP has no biases");
        if (Has("quantization_config", out _))
            throw new NotSupportedException($"{path}: quantization_config is set; quantized checkpoints are not supported (use float32, float16 or bfloat16 weights)");
        string causalLm = config.ModelType == "llama" ? "LlamaForCausalLM" : "Qwen2ForCausalLM";
        if (Has("architectures", out _) && !config.Architectures.Contains(causalLm))
            throw new InvalidDataException($"{path}: architectures [{string.Join(", ", config.Architectures)}] do not match model_type '{config.ModelType}' (expected {causalLm})");
        if (config.TorchDtype is not ("float32" or "float16" or "bfloat16" or "auto"))
            throw new NotSupportedException($"{path}: torch_dtype '{config.TorchDtype}' is not supported (float32, float16, bfloat16)");
        bool explicitBias = Has("attention_bias", out _);
        return config.ModelType == "qwen2" && !explicitBias ? config with { AttentionBias = true } : config;
    }

    /// <summary>
    /// Loads <paramref name="dir"/> onto <paramref name="device"/> in <paramref name="dtype"/>, in eval mode. With
    /// <paramref name="maxPositions"/> above the checkpoint's max_position_embeddings the model takes that many
    /// positions (a Llama model has no learned position table: rotary angles reach further, and fine-tuning on longer
    /// sequences adapts the weights to them); below it is refused.
    /// </summary>
    public static LoadedPolicy Load(string dir, Device device, ScalarType dtype = ScalarType.Float32, int? maxPositions = null)
    {
        var state = File.Exists(Path.Combine(dir, Checkpoint.StateFile)) ? Checkpoint.ReadState(dir) : new CheckpointState();
        if (state.Kind is "orm" or "prm")
            throw new InvalidDataException($"checkpoint '{dir}': ponder.json kind is '{state.Kind}', a reward model, not a policy");
        var config = ReadConfig(dir);
        if (maxPositions is { } positions)
        {
            if (positions < config.MaxPositions)
                throw new ArgumentException($"checkpoint '{dir}' takes {config.MaxPositions} positions; a longer context can be given, not a shorter one ({positions})");
            config = config with { MaxPositions = positions };
            if (config.Invalid() is { } why) throw new ArgumentException($"checkpoint '{dir}' with {positions} positions: {why}");
        }
        var tokenizer = Checkpoint.ReadTokenizer(dir);
        if (tokenizer.VocabSize > config.VocabSize)
            throw new InvalidDataException($"checkpoint '{dir}': tokenizer.json has {tokenizer.VocabSize} tokens but config.json vocab_size is {config.VocabSize}");
        var model = new Transformer(config);
        if (dtype != ScalarType.Float32) model.to(dtype);
        Checkpoint.LoadWeights(dir, model);
        model.to(device);
        model.eval();
        return new LoadedPolicy(model, tokenizer, state, dir);
    }

    // partial_rotary_factor at the top level or in rope_parameters; null when neither states it.
    private static double? PartialRotary(JsonElement root)
    {
        foreach (var holder in new[] { root, root.TryGetProperty("rope_parameters", out var rope) ? rope : default })
            if (holder.ValueKind == JsonValueKind.Object && holder.TryGetProperty("partial_rotary_factor", out var f) && f.ValueKind == JsonValueKind.Number)
                return f.GetDouble();
        return null;
    }
}
