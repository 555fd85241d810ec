namespace Ponder.Tests.Interop;

/// <summary><c>ponder serve</c> on an imported Hugging Face folder.</summary>
public sealed class ServeImportedCheckpointTests
{
    [Fact]
    public async Task Serve_names_the_imported_checkpoints_chat_template_and_bos_rule_at_startup()
    {
        using var dir = new TempDirectory();
        HfFolders.Qwen2(dir.Path);
        var output = new StringWriter();
        using var stop = new CancellationTokenSource();

        var serving = Ponder.Cli.ServeCommand.RunAsync(["--checkpoint", dir.Path, "--port", "0"], TextWriter.Synchronized(output), stop.Token);
        for (int i = 0; i < 1000 && !output.ToString().Contains("reasoning_effort", StringComparison.Ordinal); i++)
        {
            Assert.False(serving.IsCompleted, output.ToString());
            await Task.Delay(10);
        }
        await stop.CancelAsync();

        Assert.Contains("  chat template: ChatML, from tokenizer_config.json; BOS not added\n", output.ToString().ReplaceLineEndings("\n"));
        Assert.Equal(0, await serving);
    }
}

/// <summary>A Llama 3.1-style folder end to end: llama3 rope scaling, the dated chat template, served and tokenized.</summary>
public sealed class ServeLlama31FolderTests
{
    [Fact]
    public async Task A_llama_3_1_style_folder_serves_chat_with_its_dated_system_block_and_scaled_rotary()
    {
        // Given a Llama folder whose config scales its rotary as Llama 3.1 does and whose template is 3.1's
        using var dir = new TempDirectory();
        HfFolders.Llama(dir.Path).Dispose();
        string config = dir.File("config.json");
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"rope_scaling\": null",
            "\"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 16}"));
        File.WriteAllText(dir.File(Ponder.Policy.ByteLevelBpeTokenizer.ConfigFile),
            Ponder.Tests.Policy.TinyBpe.TokenizerConfig("<|begin_of_text|>", "<|eot_id|>", ChatTemplateServingTests.Llama31Template));
        // (the tiny folder's 64 positions hold no dated prompt: loaded with 256, as a longer context can be given)
        var loaded = Ponder.Interop.HfCheckpoint.Load(dir.Path, TorchSharp.torch.CPU, maxPositions: 256);
        Assert.Equal("llama3", loaded.Model.Config.RopeScaling!.RopeType);
        var (template, _) = Ponder.Serving.HfChatTemplate.For(loaded.Tokenizer);
        await using var server = await Ponder.Serving.PonderServer.StartAsync(
            new Ponder.Serving.LocalPolicy(new Ponder.Policy.Generator(loaded.Model, loaded.Tokenizer)),
            new Ponder.Serving.ServerOptions { Host = "127.0.0.1", Port = 0, ModelName = "llama31", ChatTemplate = template });
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

        // When a chat is tokenized and answered
        string messages = "\"messages\": [{\"role\": \"user\", \"content\": \"hello world\"}]";
        var tokens = await Ponder.Tests.Serving.ServerFixture.SendAsync(http, server, HttpMethod.Post, "/tokenize", "{" + messages + "}");
        var ids = tokens.Body!["tokens"]!.AsArray().Select(t => (int)t!).ToArray();
        var answer = await Ponder.Tests.Serving.ServerFixture.PostAsync(http, server, "chat/completions",
            "{\"model\": \"llama31\", " + messages + ", \"max_tokens\": 4, \"temperature\": 0}");

        // Then the prompt opens with BOS and the dated system block, and the model answers it
        string prompt = loaded.Tokenizer.Decode(ids);
        Assert.Equal(loaded.Tokenizer.Bos, ids[0]);
        Assert.Contains("Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n", prompt);
        var rendered = ((Ponder.Policy.ByteLevelBpeTokenizer)loaded.Tokenizer).ChatTemplate.Apply([("user", "hello world")], addGenerationPrompt: true);
        Assert.Equal(Ponder.Policy.Prompting.Encode(loaded.Tokenizer, rendered), ids);     // special tokens included, which Decode skips
        Assert.True(answer.Status == System.Net.HttpStatusCode.OK, answer.Body?.ToJsonString());
        Assert.Equal(ids.Length, (int)answer.Body!["usage"]!["prompt_tokens"]!);
    }
}
