using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Ponder.Interop;
using TorchSharp;
using static TorchSharp.torch;

namespace Ponder.Policy;

/// <summary>
/// A checkpoint folder in the Hugging Face layout: <c>config.json</c> (LlamaConfig fields),
/// <c>model.safetensors</c> (HF parameter names), <c>tokenizer.json</c> (and <c>tokenizer_config.json</c> when the
/// tokenizer was read with one: its special tokens and chat template; <c>generation_config.json</c> when it ends generations
/// on more ids than its EOS), plus Ponder's own
/// <c>ponder.json</c> and, for trainers, <c>optimizer.safetensors</c>. The folder works with any
/// <see cref="torch.nn.Module"/> whose parameter names follow HF.
/// </summary>
public static class Checkpoint
{
    public const string ConfigFile = "config.json";
    public const string WeightsFile = "model.safetensors";
    public const string TokenizerFile = "tokenizer.json";
    public const string TokenizerConfigFile = ByteLevelBpeTokenizer.ConfigFile;
    public const string GenerationConfigFile = ByteLevelBpeTokenizer.GenerationConfigFile;
    public const string StateFile = "ponder.json";
    public const string OptimizerFile = "optimizer.safetensors";

    /// <summary>
    /// The <c>__metadata__</c> entry of the weights and optimizer files that holds the step of the save that wrote them,
    /// so a folder whose files come from two saves (one killed between its renames) is found before a run resumes it.
    /// </summary>
    public const string StepMetadataKey = "ponder_step";

    /// <summary>HF names of the input embedding and the output head, which tied models share.</summary>
    public const string EmbeddingName = "model.embed_tokens.weight";
    public const string HeadName = "lm_head.weight";

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        // Metrics can be NaN or infinite after a diverged step; keep them rather than fail the save.
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        // Task specs such as "ops=+-*" stay readable (no \u002B escapes).
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>
    /// Writes the folder <paramref name="dir"/> (created if needed). Every file goes to a
    /// <c>.tmp</c> sibling first and is renamed into place only after all of them are written, so a
    /// save that fails or is interrupted while writing leaves the previous checkpoint as it was.
    /// Weights are the module's parameters (not buffers), in <paramref name="dtype"/>;
    /// <c>lm_head.weight</c> is left out when embeddings are tied, as HF does. Optimizer state
    /// keeps its own dtype.
    /// </summary>
    public static void Save(string dir, TransformerConfig config, torch.nn.Module model, ITokenizer tokenizer,
        CheckpointState state, IReadOnlyDictionary<string, Tensor>? optimizerState = null,
        SafetensorsDType dtype = SafetensorsDType.F32)
    {
        string torchDtype = TorchDtypeName(dtype);   // refuse an unusable dtype before touching the folder
        Directory.CreateDirectory(dir);
        foreach (string file in new[] { WeightsFile, OptimizerFile, TokenizerFile, TokenizerConfigFile, GenerationConfigFile, ConfigFile, StateFile })
            File.Delete(Path.Combine(dir, file + ".tmp"));             // left by a save that was killed part-way
        var written = new List<string>();
        string Stage(string file)
        {
            string path = Path.Combine(dir, file);
            written.Add(path);
            return path + ".tmp";
        }
        try
        {
            var weights = model.named_parameters()
                .Where(p => !(config.TieWordEmbeddings && p.name == HeadName))
                .Select(p => KeyValuePair.Create(p.name, (Tensor)p.parameter));
            var format = new Dictionary<string, string>                          // transformers refuses files without "format"
            {
                ["format"] = "pt", [StepMetadataKey] = state.Step.ToString(CultureInfo.InvariantCulture),
            };
            string weightsPath = Stage(WeightsFile);
            Safetensors.Write(weightsPath, weights, dtype, format, displayPath: Path.Combine(dir, WeightsFile));
            if (optimizerState is not null)
            {
                string optimizerPath = Stage(OptimizerFile);
                Safetensors.Write(optimizerPath, optimizerState, dtype: null, format, displayPath: Path.Combine(dir, OptimizerFile));
            }
            WriteText(Stage(TokenizerFile), tokenizer.ToJson());
            if (tokenizer.ConfigJson is { } tokenizerConfig) WriteText(Stage(TokenizerConfigFile), tokenizerConfig);
            if (MoreEnds(tokenizer)) WriteText(Stage(GenerationConfigFile), JsonSerializer.Serialize(new { eos_token_id = tokenizer.EndIds }, Json));
            WriteText(Stage(ConfigFile), JsonSerializer.Serialize(config with { TorchDtype = torchDtype }, Json));
            WriteText(Stage(StateFile), JsonSerializer.Serialize(state with { HasOptimizerState = optimizerState is not null }, Json));
        }
        catch
        {
            foreach (string path in written)
                File.Delete(path + ".tmp");
            throw;
        }
        foreach (string path in written)   // ponder.json last: it vouches for the rest
            File.Move(path + ".tmp", path, overwrite: true);
        if (optimizerState is null)
            File.Delete(Path.Combine(dir, OptimizerFile));   // a stale one would resume with moments of other weights
        if (tokenizer.ConfigJson is null)
            File.Delete(Path.Combine(dir, TokenizerConfigFile));   // a stale one would give this tokenizer another's special tokens
        File.Delete(Path.Combine(dir, ByteLevelBpeTokenizer.ChatTemplateFile));   // the template, if any, is in tokenizer_config.json: a stale one would override it
        if (!MoreEnds(tokenizer))
            File.Delete(Path.Combine(dir, GenerationConfigFile));  // or another's end tokens
    }

    // Whether the tokenizer ends generations on more than its EOS: generation_config.json then lists them all.
    private static bool MoreEnds(ITokenizer tokenizer) => tokenizer.EndIds.Any(id => id != tokenizer.Eos);

    /// <summary>
    /// <c>config.json</c>, checked before a model is built from it: the sizes every Llama config states must be there
    /// (a missing <c>num_key_value_heads</c> means one per attention head, a missing <c>rms_norm_eps</c> 1e-6 and a missing
    /// <c>max_position_embeddings</c> 2048, or 32768 for Qwen2, as in transformers' configs), and every field must
    /// be usable (<see cref="TransformerConfig.Invalid"/>). A problem is one line naming the file and the field.
    /// </summary>
    public static TransformerConfig ReadConfig(string dir)
    {
        string path = Require(dir, ConfigFile);
        using var document = ParseJson(path);
        var config = Deserialize<TransformerConfig>(path, document);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{path}: expected a JSON object");
        bool Has(string field) => root.TryGetProperty(field, out var value) && value.ValueKind != JsonValueKind.Null;
        foreach (string field in RequiredConfigFields)
            if (!Has(field)) throw new InvalidDataException($"{path}: missing field '{field}'");
        if (!Has("num_key_value_heads")) config = config with { NumKvHeads = config.NumHeads };
        // Fields a Hugging Face config may leave out take transformers' defaults (LlamaConfig, Qwen2Config), not Ponder's.
        if (!Has("rms_norm_eps")) config = config with { RmsNormEps = 1e-6 };
        if (!Has("max_position_embeddings")) config = config with { MaxPositions = config.ModelType == "qwen2" ? 32768 : 2048 };
        // transformers 5 keeps rope settings in rope_parameters: its rope_theta and scaling, where the config has none of its own.
        if (root.TryGetProperty("rope_parameters", out var rope) && rope.ValueKind == JsonValueKind.Object)
        {
            if (!Has("rope_theta") && rope.TryGetProperty("rope_theta", out var theta))
                config = config with
                {
                    RopeTheta = theta.ValueKind == JsonValueKind.Number && theta.TryGetDouble(out double value)
                        ? value : throw new InvalidDataException($"{path}: rope_parameters.rope_theta is {theta.GetRawText()}, expected a number"),
                };
            if (!Has("rope_scaling") && (rope.TryGetProperty("rope_type", out _) || rope.TryGetProperty("type", out _)))
                config = config with { RopeScaling = Deserialize<RopeScaling?>(path, rope, "rope_parameters") };
        }
        // yarn's original context defaults to max_position_embeddings (as transformers reads it), and the context is the
        // original stretched by the factor, the room the scaling is for: Qwen2.5's 32,768 positions at factor 4 serve 131,072.
        if (config.RopeScaling is { RopeType: "yarn" } yarn)
        {
            int original = yarn.OriginalMaxPositions ?? config.MaxPositions;
            double stretched = Math.Min(original * yarn.Factor, TransformerConfig.MaxSupportedPositions);
            config = config with
            {
                RopeScaling = yarn with { OriginalMaxPositions = original },
                MaxPositions = stretched > config.MaxPositions ? (int)stretched : config.MaxPositions,
            };
        }
        return config.Invalid() is { } problem ? throw new InvalidDataException($"{path}: {problem}") : config;
    }

    /// <summary>The sizes a config must state: a model cannot be built, or its weights checked, without them.</summary>
    private static readonly string[] RequiredConfigFields =
        ["vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads"];

    public static CheckpointState ReadState(string dir) => ReadJson<CheckpointState>(dir, StateFile);

    public static ITokenizer ReadTokenizer(string dir) => Tokenizers.Load(Require(dir, TokenizerFile));

    /// <summary>
    /// Copies the folder's weights (<c>model.safetensors</c>, or the shards <c>model.safetensors.index.json</c> lists)
    /// into the parameters of <paramref name="model"/>, converting to each parameter's dtype and device. Every name and
    /// shape is checked before any parameter changes. With tied embeddings (per <c>config.json</c>) a missing
    /// <c>lm_head.weight</c> is taken from the embedding; the rotary <c>inv_freq</c> buffers old HF files carry are skipped.
    /// </summary>
    public static void LoadWeights(string dir, torch.nn.Module model)
    {
        bool tied = ReadConfig(dir).TieWordEmbeddings;
        using var weights = SafetensorsShards.Open(dir);
        var parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter, StringComparer.Ordinal);
        string Where(string tensor) => weights.Entries.ContainsKey(tensor) ? weights.PathOf(tensor) : weights.Source;

        var sources = new Dictionary<string, string>(StringComparer.Ordinal);   // parameter → tensor in the files
        foreach (var (name, parameter) in parameters)
        {
            string source = tied && name == HeadName && !weights.Entries.ContainsKey(HeadName) ? EmbeddingName : name;
            if (!weights.Entries.TryGetValue(source, out var entry))
                throw new InvalidDataException($"{Where(source)}: missing tensor '{source}'");
            if (!entry.Shape.SequenceEqual(parameter.shape))
                throw new InvalidDataException(
                    $"{Where(source)}: tensor '{source}' has shape {Shape(entry.Shape)}, model expects {Shape(parameter.shape)}");
            sources[name] = source;
        }
        foreach (string name in weights.Entries.Keys)
        {
            bool ignorable = (tied && name == HeadName)   // some tied HF checkpoints still carry the head
                || name.EndsWith("rotary_emb.inv_freq", StringComparison.Ordinal);
            if (!parameters.ContainsKey(name) && !ignorable)
                throw new InvalidDataException($"{Where(name)}: unexpected tensor '{name}' (the model has no such parameter)");
        }

        if (tied && weights.Entries.ContainsKey(HeadName) && weights.Entries.ContainsKey(EmbeddingName))
        {
            using var scope = torch.NewDisposeScope();
            using var head = weights.Read(HeadName);
            using var embedding = weights.Read(EmbeddingName);
            bool same = head.shape.SequenceEqual(embedding.shape) && head.eq(embedding).all().item<bool>();
            if (!same)
                throw new InvalidDataException($"{Where(HeadName)}: tensor '{HeadName}' differs from '{EmbeddingName}', but config.json sets tie_word_embeddings");
        }
        using var noGrad = torch.no_grad();
        foreach (var (name, source) in sources)
        {
            using var value = weights.Read(source);
            parameters[name].copy_(value);
        }
    }

    /// <summary>
    /// Refuses a folder whose weights or optimizer state were written by another save than its <c>ponder.json</c> (a save
    /// stopped between renaming its files): resuming it would pair one step's weights with another's schedule. Files
    /// without the step entry (written elsewhere, or before Ponder kept it) are not checked.
    /// </summary>
    public static void RequireOneSave(string dir, CheckpointState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        foreach (string file in new[] { WeightsFile, OptimizerFile })
        {
            string path = Path.Combine(dir, file);
            if (!File.Exists(path)) continue;
            using var reader = SafetensorsReader.Open(path);
            if (reader.Metadata.GetValueOrDefault(StepMetadataKey) is { } step && step != state.Step.ToString(CultureInfo.InvariantCulture))
                throw new InvalidDataException($"checkpoint '{dir}': {file} was saved at step {step} but {StateFile} at step {state.Step} (a save was stopped part-way); it cannot be resumed");
        }
    }

    /// <summary>The trainer state saved with the weights, or null when the checkpoint has none.</summary>
    public static Dictionary<string, Tensor>? ReadOptimizerState(string dir)
    {
        string path = Path.Combine(dir, OptimizerFile);
        return File.Exists(path) ? Safetensors.Load(path) : null;
    }

    private static T ReadJson<T>(string dir, string file)
    {
        string path = Require(dir, file);
        using var document = ParseJson(path);
        return Deserialize<T>(path, document);
    }

    private static JsonDocument ParseJson(string path)
    {
        try
        {
            return JsonDocument.Parse(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: {e.Message.ReplaceLineEndings(" ")}", e);
        }
    }

    private static T Deserialize<T>(string path, JsonDocument document)
    {
        try
        {
            return document.Deserialize<T>(Json) ?? throw new InvalidDataException($"{path}: holds null, expected an object");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: {e.Message.ReplaceLineEndings(" ")}", e);
        }
    }

    // One field's object; its converter's messages name rope_scaling, which this field stands for.
    private static T? Deserialize<T>(string path, JsonElement element, string field)
    {
        try
        {
            return element.Deserialize<T>(Json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: {field}: {e.Message.ReplaceLineEndings(" ")}", e);
        }
    }

    private static string Require(string dir, string file)
    {
        string path = Path.Combine(dir, file);
        if (File.Exists(path)) return path;
        string problem = Directory.Exists(dir) ? (Readable(dir) ? $"missing {file}" : "the folder cannot be read (permission denied)")
            : File.Exists(dir) ? "is a file, not a checkpoint folder" : "no such folder";
        throw new FileNotFoundException($"checkpoint '{dir}': {problem}", path);
    }

    private static bool Readable(string dir)
    {
        try
        {
            _ = Directory.EnumerateFileSystemEntries(dir).Any();
            return true;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static void WriteText(string path, string text)
    {
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None);
        using (var writer = new StreamWriter(stream, leaveOpen: true))
            writer.Write(text);
        stream.Flush(flushToDisk: true);
    }

    private static string TorchDtypeName(SafetensorsDType dtype) => dtype switch
    {
        SafetensorsDType.F32 => "float32",
        SafetensorsDType.F16 => "float16",
        SafetensorsDType.BF16 => "bfloat16",
        _ => throw new ArgumentException($"model weights cannot be saved as {dtype}; use F32, F16 or BF16", nameof(dtype)),
    };

    private static string Shape(IEnumerable<long> shape) => $"[{string.Join(", ", shape)}]";
}
