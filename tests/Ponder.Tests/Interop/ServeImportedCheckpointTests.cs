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
