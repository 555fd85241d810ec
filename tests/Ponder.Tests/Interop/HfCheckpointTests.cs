using Ponder.Interop;
using Ponder.Policy;
using Ponder.Tests.Policy;
using TorchSharp;
using static TorchSharp.torch;

namespace Ponder.Tests.Interop;

public sealed class HfCheckpointTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static readonly int[] Tokens = [TinyBpe.Id("<|begin_of_text|>"), TinyBpe.Id("hello"), TinyBpe.Id("Ġworld"), 44, 7, 200, TinyBpe.Id("<|eot_id|>")];

    private static float MaxLogitDiff(Transformer a, Transformer b)
    {
        using var scope = NewDisposeScope();
        return TinyModels.MaxAbsDiff(TinyModels.FullLogits(a, Tokens), TinyModels.FullLogits(b, Tokens));
    }

    [Fact]
    public void Llama_folder_with_sharded_weights_and_explicit_head_dim_loads_as_written()
    {
        // Given a Llama 3-style folder written as transformers would (sharded, eos list, extra fields, no ponder.json)
        var written = HfFolders.Llama(_dir.Path);

        // When it is loaded
        var loaded = LoadedPolicy.Load(_dir.Path, CPU);

        // Then config, tokenizer and state are read with HF's conventions and the forward pass is the written model's
        Assert.Equal(16, loaded.Model.Config.HeadDim);
        Assert.Equal(TinyBpe.Id("<|end_of_text|>"), loaded.Model.Config.EosTokenId);   // first of the list
        Assert.Equal("", loaded.State.Task);
        var tokenizer = Assert.IsType<ByteLevelBpeTokenizer>(loaded.Tokenizer);
        Assert.Equal(TinyBpe.Id("<|eot_id|>"), tokenizer.Eos);
        Assert.Equal(0f, MaxLogitDiff(written, loaded.Model));
    }

    [Fact]
    public void Qwen2_folder_in_bf16_loads_with_implied_biases_and_tied_embeddings()
    {
        var written = HfFolders.Qwen2(_dir.Path);

        var loaded = HfCheckpoint.Load(_dir.Path, CPU);

        Assert.True(loaded.Model.Config.AttentionBias);
        Assert.True(loaded.Model.Config.TieWordEmbeddings);
        Assert.Equal(ScalarType.Float32, loaded.Model.DType);
        Assert.True(MaxLogitDiff(written, loaded.Model) < 1e-5f);
        Assert.True(MaxLogitDiff(written, ZeroBiases(HfCheckpoint.Load(_dir.Path, CPU).Model)) > 1e-2f, "the biases made no difference: the test would not notice them missing");
        Assert.Equal(ChatTemplateKind.ChatMl, Assert.IsType<ByteLevelBpeTokenizer>(loaded.Tokenizer).ChatTemplate.Kind);
    }

    [Fact]
    public void A_model_loaded_in_bf16_computes_close_to_f32()
    {
        HfFolders.Qwen2(_dir.Path);

        var f32 = HfCheckpoint.Load(_dir.Path, CPU).Model;
        var bf16 = HfCheckpoint.Load(_dir.Path, CPU, ScalarType.BFloat16).Model;

        Assert.Equal(ScalarType.BFloat16, bf16.DType);
        using var scope = NewDisposeScope();
        var diff = TinyModels.MaxAbsDiff(TinyModels.FullLogits(f32, Tokens), TinyModels.FullLogits(bf16, Tokens).to(ScalarType.Float32));
        Assert.True(diff < 0.5f, $"bf16 forward is {diff} away from f32");
    }

    [Fact]
    public void Generation_runs_on_an_imported_model_with_its_chat_template()
    {
        HfFolders.Qwen2(_dir.Path);
        var policy = HfCheckpoint.Load(_dir.Path, CPU);
        var tokenizer = (ByteLevelBpeTokenizer)policy.Tokenizer;
        int[] prompt = tokenizer.Encode(tokenizer.ApplyChatTemplate([("user", "hello world")], addGenerationPrompt: true));

        var generations = new Ponder.Policy.Generator(policy.Model, tokenizer).Generate([prompt, prompt[..5]], new SamplingOptions { Temperature = 0, MaxNewTokens = 6, Seed = 1 });

        Assert.Equal(TinyBpe.Id("<|im_start|>"), prompt[0]);
        Assert.All(generations, g => Assert.InRange(g.Tokens.Length, 1, 6));
    }

    [Fact]
    public void A_shard_named_by_the_index_but_absent_is_named_in_the_error()
    {
        HfFolders.Llama(_dir.Path);
        File.Delete(_dir.File("model-00002-of-00002.safetensors"));

        var error = Assert.Throws<InvalidDataException>(() => HfCheckpoint.Load(_dir.Path, CPU));

        Assert.Contains("model.safetensors.index.json: shard 'model-00002-of-00002.safetensors'", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void An_index_that_is_not_a_json_object_is_named_in_the_error()
    {
        HfFolders.Llama(_dir.Path);
        string index = _dir.File(SafetensorsShards.IndexFile);
        File.WriteAllText(index, "[]");

        var error = Assert.Throws<InvalidDataException>(() => HfCheckpoint.Load(_dir.Path, CPU));

        Assert.Equal($"{index}: expected a JSON object, found array", error.Message);
    }

    [Fact]
    public void A_tensor_missing_from_its_shard_is_named_with_the_shard()
    {
        HfFolders.Llama(_dir.Path);
        string shard = _dir.File("model-00002-of-00002.safetensors");
        var kept = Safetensors.Load(shard).Where(e => e.Key != "model.norm.weight").ToList();
        Safetensors.Save(shard, kept);

        var error = Assert.Throws<InvalidDataException>(() => HfCheckpoint.Load(_dir.Path, CPU));

        Assert.Equal($"{shard}: tensor 'model.norm.weight' is missing (the index places it in this shard)", error.Message);
    }

    [Theory]
    [InlineData("\"rope_scaling\": null", "\"rope_scaling\": {\"rope_type\": \"dynamic\", \"factor\": 8.0}", "rope scaling type 'dynamic'")]
    [InlineData("\"model_type\": \"llama\"", "\"model_type\": \"mistral\"", "model_type 'mistral'")]
    [InlineData("\"mlp_bias\": false", "\"mlp_bias\": true", "mlp_bias")]
    [InlineData("\"mlp_bias\": false", "\"mlp_bias\": false, \"quantization_config\": {\"quant_method\": \"fp8\"}", "quantization_config is set")]
    [InlineData("\"torch_dtype\": \"float32\"", "\"torch_dtype\": \"float8_e4m3fn\"", "torch_dtype 'float8_e4m3fn'")]
    [InlineData("\"architectures\": [\"LlamaForCausalLM\"]", "\"architectures\": [\"GPT2LMHeadModel\"]", "architectures [GPT2LMHeadModel] do not match model_type 'llama'")]
    [InlineData("\"rope_scaling\": null, \"rope_theta\": 500.0", "\"rope_parameters\": {\"rope_type\": \"longrope\", \"rope_theta\": 500.0, \"factor\": 8.0}", "rope scaling type 'longrope'")]
    [InlineData("\"rope_scaling\": null", "\"partial_rotary_factor\": 0.5", "partial_rotary_factor 0.5")]
    [InlineData("\"attention_bias\": false", "\"attention_bias\": true", "o_proj bias")]
    public void Unsupported_config_features_are_refused_naming_the_file(string from, string to, string expected)
    {
        HfFolders.Llama(_dir.Path);
        string config = _dir.File("config.json");
        string text = File.ReadAllText(config);
        Assert.Contains(from, text);
        File.WriteAllText(config, text.Replace(from, to));

        var error = Assert.ThrowsAny<Exception>(() => HfCheckpoint.Load(_dir.Path, CPU));
        Assert.True(error is NotSupportedException or InvalidDataException, error.GetType().Name);

        Assert.StartsWith(config + ": ", error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void Transformers_5_configs_give_their_rope_theta_in_rope_parameters_and_their_chat_template_in_a_jinja_file()
    {
        // Given a Llama folder saved the transformers 5 way: rope_theta inside rope_parameters, the template beside the config
        var model = HfFolders.Llama(_dir.Path);
        string config = _dir.File("config.json");
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"rope_scaling\": null, \"rope_theta\": 500.0", "\"rope_parameters\": {\"rope_theta\": 500.0, \"rope_type\": \"default\"}"));
        File.WriteAllText(_dir.File(ByteLevelBpeTokenizer.ConfigFile), TinyBpe.TokenizerConfig("<|begin_of_text|>", "<|eot_id|>", null));
        File.WriteAllText(_dir.File(ByteLevelBpeTokenizer.ChatTemplateFile), TinyBpe.Llama3Template);

        // When it is loaded, Then the theta is the folder's (not the default 10,000) and the Llama 3 template is there
        var policy = HfCheckpoint.Load(_dir.Path, CPU);
        Assert.Equal(500.0, policy.Model.Config.RopeTheta);
        Assert.Equal(ChatTemplateKind.Llama3, ((ByteLevelBpeTokenizer)policy.Tokenizer).ChatTemplate.Kind);
        Assert.Contains("chat_template", policy.Tokenizer.ConfigJson);                     // and kept when the tokenizer is saved
        model.Dispose();
    }

    [Fact]
    public void Gguf_export_refuses_a_pre_tokenizer_split_llama_cpp_does_not_know()
    {
        // Given a byte-level tokenizer whose split is its own (llama.cpp would split such text its default way)
        var tokenizer = ByteLevelBpeTokenizer.FromJson(TinyBpe.Json(@"\S+|\s+"));
        Assert.Equal(PreTokenizerKind.Custom, tokenizer.PreTokenizer);

        // Then its GGUF vocabulary is refused rather than written with another split
        var error = Assert.Throws<NotSupportedException>(() => GgufVocabulary.From(tokenizer, tokenizer.VocabSize));
        Assert.Contains("llama.cpp would tokenize differently", error.Message);
    }

    private static Transformer ZeroBiases(Transformer model)
    {
        using var noGrad = no_grad();
        foreach (var (name, p) in model.named_parameters())
            if (name.EndsWith(".bias", StringComparison.Ordinal)) p.zero_();
        return model;
    }
}
