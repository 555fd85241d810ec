using System.Text.Json;
using Ponder.Interop;
using Ponder.Policy;
using TorchSharp;
using static TorchSharp.torch;

namespace Ponder.Tests.Policy;

public sealed class CheckpointTests : IDisposable
{
    private const int Vocab = 100;
    private const int Hidden = 8;

    private readonly TempDirectory _dir = new();
    private readonly TransformerConfig _config = new() { VocabSize = Vocab, HiddenSize = Hidden, NumLayers = 2 };
    private readonly CheckpointState _state = new()
    {
        Task = "arithmetic:3",
        Step = 1200,
        Seed = 7,
        TokensSeen = 1_234_567,
        Metrics = new() { ["eval_loss"] = 0.5 },
        Extra = new() { ["lr"] = "3e-4" },
    };

    public void Dispose() => _dir.Dispose();

    private static TinyCausalLm Model(long seed)
    {
        torch.manual_seed(seed);
        return new TinyCausalLm(Vocab, Hidden);
    }

    private string WeightsPath => Path.Combine(_dir.Path, Checkpoint.WeightsFile);

    [Fact]
    public void Save_then_load_restores_identical_parameters_config_state_and_tokenizer()
    {
        using var scope = torch.NewDisposeScope();
        // Given a saved model and a differently initialized one
        using var saved = Model(1);
        using var restored = Model(2);
        Checkpoint.Save(_dir.Path, _config, saved, new CharTokenizer(), _state);

        // When the weights and the side files are read back
        Checkpoint.LoadWeights(_dir.Path, restored);
        var config = Checkpoint.ReadConfig(_dir.Path);
        var state = Checkpoint.ReadState(_dir.Path);
        var tokenizer = Checkpoint.ReadTokenizer(_dir.Path);

        // Then every parameter is identical and the side files round trip
        var expected = saved.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var actual = restored.named_parameters().ToList();
        Assert.Equal(expected.Keys.Order(), actual.Select(p => p.name).Order());
        Assert.All(actual, p => Assert.True(p.parameter.Equals(expected[p.name]), p.name));
        Assert.Equal(_config, config with { Architectures = _config.Architectures });
        Assert.Equal((_state.Task, _state.Step, _state.Seed, _state.Kind, _state.TokensSeen), (state.Task, state.Step, state.Seed, state.Kind, state.TokensSeen));
        Assert.Equal(0.5, state.Metrics!["eval_loss"]);
        Assert.Equal("3e-4", state.Extra!["lr"]);
        Assert.False(state.HasOptimizerState);
        Assert.Equal("x+1\n", tokenizer.Decode(tokenizer.Encode("x+1\n")));
    }

    [Fact]
    public void Saved_files_use_hugging_face_names()
    {
        using var scope = torch.NewDisposeScope();
        using var model = Model(1);

        Checkpoint.Save(_dir.Path, _config, model, new CharTokenizer(), _state);

        // config.json and ponder.json speak snake_case
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir.Path, Checkpoint.ConfigFile)));
        Assert.Equal(Hidden, config.RootElement.GetProperty("hidden_size").GetInt32());
        Assert.Equal("float32", config.RootElement.GetProperty("torch_dtype").GetString());
        using var state = JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir.Path, Checkpoint.StateFile)));
        Assert.Equal(1_234_567, state.RootElement.GetProperty("tokens_seen").GetInt64());
        Assert.False(state.RootElement.GetProperty("has_optimizer_state").GetBoolean());
        // model.safetensors carries HF parameter names and the metadata transformers checks for
        using var reader = SafetensorsReader.Open(WeightsPath);
        Assert.Contains("model.layers.1.mlp.up_proj.weight", reader.Entries.Keys);
        Assert.Contains("lm_head.weight", reader.Entries.Keys);
        Assert.Equal("pt", reader.Metadata["format"]);
        Assert.Empty(Directory.GetFiles(_dir.Path, "*.tmp"));
    }

    [Fact]
    public void Bf16_checkpoint_loads_into_f32_parameters_within_bf16_precision()
    {
        using var scope = torch.NewDisposeScope();
        using var saved = Model(1);
        using var restored = Model(2);

        Checkpoint.Save(_dir.Path, _config, saved, new CharTokenizer(), _state, dtype: SafetensorsDType.BF16);
        Checkpoint.LoadWeights(_dir.Path, restored);

        using var reader = SafetensorsReader.Open(WeightsPath);
        Assert.All(reader.Entries.Values, e => Assert.Equal(SafetensorsDType.BF16, e.DType));
        Assert.Equal("bfloat16", Checkpoint.ReadConfig(_dir.Path).TorchDtype);
        var expected = saved.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        Assert.All(restored.named_parameters(), p =>
        {
            Assert.Equal(ScalarType.Float32, p.parameter.dtype);
            Assert.True(p.parameter.allclose(expected[p.name], rtol: 8e-3, atol: 0), p.name);
        });
    }

    [Fact]
    public void Tied_embeddings_leave_out_the_head_and_restore_it_from_the_embedding()
    {
        using var scope = torch.NewDisposeScope();
        // Given a checkpoint saved with tied embeddings
        using var saved = Model(1);
        using var restored = Model(2);
        Checkpoint.Save(_dir.Path, _config with { TieWordEmbeddings = true }, saved, new CharTokenizer(), _state);

        // When loaded into a model that holds a separate head
        Checkpoint.LoadWeights(_dir.Path, restored);

        // Then the file has no head and the head equals the saved embedding
        using (var reader = SafetensorsReader.Open(WeightsPath))
            Assert.DoesNotContain(Checkpoint.HeadName, reader.Entries.Keys);
        var embedding = saved.named_parameters().Single(p => p.name == Checkpoint.EmbeddingName).parameter;
        var head = restored.named_parameters().Single(p => p.name == Checkpoint.HeadName).parameter;
        Assert.True(head.Equals(embedding));
    }

    [Fact]
    public void Untied_checkpoint_without_a_head_reports_it_missing()
    {
        using var scope = torch.NewDisposeScope();
        // Given an untied checkpoint whose file lost one tensor
        using var model = Model(1);
        Checkpoint.Save(_dir.Path, _config, model, new CharTokenizer(), _state);
        RewriteWeights(weights => weights.Remove("model.layers.1.mlp.up_proj.weight"));

        // When loading, Then the error names the file and the tensor
        var error = Assert.Throws<InvalidDataException>(() => Checkpoint.LoadWeights(_dir.Path, Model(2)));
        Assert.Equal($"{WeightsPath}: missing tensor 'model.layers.1.mlp.up_proj.weight'", error.Message);
    }

    [Fact]
    public void Load_reports_an_unexpected_tensor()
    {
        using var scope = torch.NewDisposeScope();
        using var model = Model(1);
        Checkpoint.Save(_dir.Path, _config, model, new CharTokenizer(), _state);
        RewriteWeights(weights => weights["model.layers.9.mlp.up_proj.weight"] = torch.zeros(Hidden, Hidden));

        var error = Assert.Throws<InvalidDataException>(() => Checkpoint.LoadWeights(_dir.Path, Model(2)));

        Assert.StartsWith($"{WeightsPath}: unexpected tensor 'model.layers.9.mlp.up_proj.weight'", error.Message);
    }

    [Fact]
    public void Load_reports_a_wrong_shape_and_changes_no_parameter()
    {
        using var scope = torch.NewDisposeScope();
        // Given a checkpoint whose embedding is half as wide as the model's
        using var saved = Model(1);
        Checkpoint.Save(_dir.Path, _config, saved, new CharTokenizer(), _state);
        RewriteWeights(weights => weights[Checkpoint.EmbeddingName] = torch.zeros(Vocab, Hidden / 2));
        using var target = Model(2);
        var before = target.named_parameters().Select(p => p.parameter.clone()).ToList();

        // When loading
        var error = Assert.Throws<InvalidDataException>(() => Checkpoint.LoadWeights(_dir.Path, target));

        // Then the error names file, tensor and both shapes, and nothing was copied
        Assert.Equal($"{WeightsPath}: tensor 'model.embed_tokens.weight' has shape [100, 4], model expects [100, 8]", error.Message);
        Assert.All(target.named_parameters().Zip(before), pair => Assert.True(pair.First.parameter.Equals(pair.Second)));
    }

    [Fact]
    public void Missing_files_are_named_with_the_checkpoint()
    {
        var error = Assert.Throws<FileNotFoundException>(() => Checkpoint.ReadConfig(_dir.Path));

        Assert.Equal($"checkpoint '{_dir.Path}': missing config.json", error.Message);
    }

    [Fact]
    public void A_missing_folder_or_a_file_is_named_as_such()
    {
        string missing = Path.Combine(_dir.Path, "nowhere"), file = _dir.File("notes.txt");
        File.WriteAllText(file, "not a checkpoint");

        Assert.Equal($"checkpoint '{missing}': no such folder", Assert.Throws<FileNotFoundException>(() => Checkpoint.ReadConfig(missing)).Message);
        Assert.Equal($"checkpoint '{file}': is a file, not a checkpoint folder", Assert.Throws<FileNotFoundException>(() => Checkpoint.ReadConfig(file)).Message);
    }

    [Fact]
    public void A_reward_model_loaded_as_a_policy_is_named_as_one()
    {
        using (var model = Model(1))
            Checkpoint.Save(_dir.Path, _config, model, new CharTokenizer(), _state with { Kind = "prm" });

        var error = Assert.Throws<InvalidDataException>(() => LoadedPolicy.Load(_dir.Path, CPU));

        Assert.Equal($"checkpoint '{_dir.Path}': ponder.json kind is 'prm', a reward model, not a policy", error.Message);
    }

    [Theory]
    [InlineData(Checkpoint.ConfigFile, "{\"hidden_size\": \"wide\"}", "hidden_size")]
    [InlineData(Checkpoint.StateFile, "{ not json", "ponder.json")]
    [InlineData(Checkpoint.StateFile, "null", "null")]
    public void Malformed_json_files_are_named_with_the_problem(string file, string content, string expected)
    {
        string path = _dir.File(file);
        File.WriteAllText(path, content);

        var error = Assert.Throws<InvalidDataException>(() =>
            file == Checkpoint.ConfigFile ? (object)Checkpoint.ReadConfig(_dir.Path) : Checkpoint.ReadState(_dir.Path));

        Assert.StartsWith(path + ": ", error.Message);
        Assert.Contains(expected, error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Theory]
    [InlineData("num_attention_heads", "0", "num_attention_heads is 0")]
    [InlineData("num_hidden_layers", "100000000", "num_hidden_layers is 100000000")]
    [InlineData("num_hidden_layers", "-1", "num_hidden_layers is -1")]
    [InlineData("hidden_size", "-128", "hidden_size is -128")]
    [InlineData("intermediate_size", "0", "intermediate_size is 0")]
    [InlineData("max_position_embeddings", "-1", "max_position_embeddings is -1")]
    [InlineData("max_position_embeddings", "2147483647", "max_position_embeddings is 2147483647")]
    [InlineData("num_key_value_heads", "3", "num_key_value_heads 3 does not divide num_attention_heads 4")]
    [InlineData("eos_token_id", "5000", "eos_token_id is 5000")]
    [InlineData("bos_token_id", "-7", "bos_token_id is -7")]
    [InlineData("rms_norm_eps", "-1", "rms_norm_eps is -1")]
    [InlineData("rope_theta", "0", "rope_theta is 0")]
    [InlineData("hidden_size", null, "missing field 'hidden_size'")]
    public void A_config_a_model_cannot_be_built_from_is_refused_naming_the_file_and_field(string field, string? value, string expected)
    {
        // Given a saved checkpoint whose config.json then gets one unusable field (or loses it)
        string path = SaveThenEditConfig(_config with { NumHeads = 4, NumKvHeads = 4 }, config =>
        {
            if (value is null) config.Remove(field);
            else config[field] = System.Text.Json.Nodes.JsonNode.Parse(value);
        });

        // When it is read, Then one line names the file and the field, before any model is built
        var error = Assert.Throws<InvalidDataException>(() => Checkpoint.ReadConfig(_dir.Path));
        Assert.StartsWith($"{path}: {expected}", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void A_config_without_key_value_heads_has_one_per_attention_head_as_in_hugging_face()
    {
        SaveThenEditConfig(_config with { NumHeads = 4, NumKvHeads = 2 }, config => config.Remove("num_key_value_heads"));

        Assert.Equal(4, Checkpoint.ReadConfig(_dir.Path).NumKvHeads);
    }

    [Theory]
    [InlineData("llama", 2048)]
    [InlineData("qwen2", 32768)]
    public void A_config_without_norm_epsilon_or_context_takes_the_transformers_defaults(string modelType, int positions)
    {
        SaveThenEditConfig(_config with { ModelType = modelType, RmsNormEps = 1e-5 }, config =>
        {
            config.Remove("rms_norm_eps");
            config.Remove("max_position_embeddings");
        });

        var read = Checkpoint.ReadConfig(_dir.Path);
        Assert.Equal((1e-6, positions), (read.RmsNormEps, read.MaxPositions));
    }

    [Fact]
    public void A_tied_checkpoint_whose_head_differs_from_its_embedding_is_refused()
    {
        using var scope = torch.NewDisposeScope();
        // Given a tied checkpoint that also carries a head of other values
        using var saved = Model(1);
        Checkpoint.Save(_dir.Path, _config with { TieWordEmbeddings = true }, saved, new CharTokenizer(), _state);
        RewriteWeights(weights => weights[Checkpoint.HeadName] = torch.ones(Vocab, Hidden));

        // When loading, Then the head is named rather than silently dropped
        var error = Assert.Throws<InvalidDataException>(() => Checkpoint.LoadWeights(_dir.Path, Model(2)));
        Assert.Equal($"{WeightsPath}: tensor 'lm_head.weight' differs from 'model.embed_tokens.weight', but config.json sets tie_word_embeddings", error.Message);

        // And a head equal to the embedding (as some tied HF files carry) still loads
        RewriteWeights(weights => weights[Checkpoint.HeadName] = weights[Checkpoint.EmbeddingName].clone());
        Checkpoint.LoadWeights(_dir.Path, Model(2));
    }

    [Fact]
    public void Optimizer_state_round_trips_in_its_own_dtype_and_a_later_save_without_it_removes_it()
    {
        using var scope = torch.NewDisposeScope();
        // Given AdamW-style moments saved with bf16 weights
        using var model = Model(1);
        var moments = new Dictionary<string, Tensor>
        {
            ["exp_avg.lm_head.weight"] = torch.randn(Vocab, Hidden),
            ["step"] = torch.tensor(42L),
        };
        Checkpoint.Save(_dir.Path, _config, model, new CharTokenizer(), _state, moments, SafetensorsDType.BF16);

        // When read back
        var read = Checkpoint.ReadOptimizerState(_dir.Path)!;

        // Then the moments keep full precision and ponder.json records them
        Assert.True(read["exp_avg.lm_head.weight"].Equals(moments["exp_avg.lm_head.weight"]));
        Assert.Equal(42L, read["step"].item<long>());
        Assert.True(Checkpoint.ReadState(_dir.Path).HasOptimizerState);

        // And a save without optimizer state leaves none behind
        Checkpoint.Save(_dir.Path, _config, model, new CharTokenizer(), _state);
        Assert.Null(Checkpoint.ReadOptimizerState(_dir.Path));
        Assert.False(Checkpoint.ReadState(_dir.Path).HasOptimizerState);
    }

    [Fact]
    public void A_save_removes_staged_files_a_killed_save_left_behind()
    {
        foreach (string file in new[] { Checkpoint.WeightsFile, Checkpoint.OptimizerFile, Checkpoint.ConfigFile, Checkpoint.StateFile, Checkpoint.TokenizerFile })
            File.WriteAllText(_dir.File(file + ".tmp"), "partial");

        using (var model = Model(1))
            Checkpoint.Save(_dir.Path, _config, model, new CharTokenizer(), _state);

        Assert.Empty(Directory.GetFiles(_dir.Path, "*.tmp"));
    }

    [Fact]
    public void Failed_save_leaves_the_previous_checkpoint_intact()
    {
        using var scope = torch.NewDisposeScope();
        // Given a good checkpoint
        using var model = Model(1);
        Checkpoint.Save(_dir.Path, _config, model, new CharTokenizer(), _state);
        var before = Directory.GetFiles(_dir.Path).Order().ToDictionary(f => f, File.ReadAllBytes);

        // When a second save fails part way (its optimizer state cannot be written)
        using var changed = Model(3);
        var bad = new Dictionary<string, Tensor> { ["exp_avg.x"] = torch.zeros(2, dtype: ScalarType.ComplexFloat32) };
        Assert.Throws<ArgumentException>(() =>
            Checkpoint.Save(_dir.Path, _config, changed, new CharTokenizer(), _state with { Step = 9999 }, bad));

        // Then every file is byte-for-byte the old one and no temporary remains
        var after = Directory.GetFiles(_dir.Path).Order().ToDictionary(f => f, File.ReadAllBytes);
        Assert.Equal(before.Keys, after.Keys);
        Assert.All(before, pair => Assert.Equal(pair.Value, after[pair.Key]));
        Assert.Equal(1200, Checkpoint.ReadState(_dir.Path).Step);
    }

    // Saves a checkpoint with this config, then changes its config.json as JSON; returns the file's path.
    private string SaveThenEditConfig(TransformerConfig config, Action<System.Text.Json.Nodes.JsonObject> edit)
    {
        using (var model = Model(1))
            Checkpoint.Save(_dir.Path, config, model, new CharTokenizer(), _state);
        string path = _dir.File(Checkpoint.ConfigFile);
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(json);
        File.WriteAllText(path, json.ToJsonString());
        return path;
    }

    private void RewriteWeights(Action<Dictionary<string, Tensor>> change)
    {
        var weights = Safetensors.Load(WeightsPath);
        change(weights);
        Safetensors.Save(WeightsPath, weights);
    }
}
