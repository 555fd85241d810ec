using System.Text.Json.Nodes;
using Ponder.Policy;
using Ponder.Rewards;
using Ponder.Serving;
using Ponder.Tasks;

namespace Ponder.Tests.Serving;

/// <summary><c>ponder serve --prm</c>: high effort becomes a PRM-guided beam search.</summary>
public sealed class PrmServingTests
{
    [Fact]
    public async Task Serve_loads_a_prm_checkpoint_and_high_effort_defaults_to_prm_beam_search()
    {
        using var dir = new TempDirectory();
        string checkpoint = TinyServedModel.Save(dir);
        var policy = LoadedPolicy.Load(checkpoint, TorchSharp.torch.CPU);
        string prmDir = dir.File("prm");
        LoadedRewardModel.Save(prmDir, RewardModel.FromPolicy(policy.Model), policy.Tokenizer, new CheckpointState { Kind = "prm", Task = "arith" });
        var output = new StringWriter();
        using var stop = new CancellationTokenSource();

        var serving = Ponder.Cli.ServeCommand.RunAsync(["--checkpoint", checkpoint, "--port", "0", "--prm", prmDir, "--prm-aggregation", "last"], TextWriter.Synchronized(output), stop.Token);
        string? endpoint = null;
        for (int i = 0; i < 1000 && endpoint is null; i++)
        {
            Assert.False(serving.IsCompleted, output.ToString());
            endpoint = System.Text.RegularExpressions.Regex.Match(output.ToString(), @"at (http://\S+/v1/)") is { Success: true } m ? m.Groups[1].Value : null;
            await Task.Delay(10);
        }
        using var http = new HttpClient();
        using var content = new StringContent(ServerFixture.Chat("\"reasoning_effort\": \"high\", \"max_tokens\": 20", model: "tiny-96"), System.Text.Encoding.UTF8, "application/json");
        using var response = await http.PostAsync(new Uri(new Uri(endpoint!), "chat/completions"), content);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        await stop.CancelAsync();

        Assert.Contains("high = beam:16@1", output.ToString());
        Assert.Contains("chat template: none", output.ToString());
        Assert.True(response.IsSuccessStatusCode, body.ToJsonString());
        Assert.True((int)body["usage"]!["completion_tokens_details"]!["reasoning_tokens"]! > 0);
        Assert.Equal(0, await serving);
    }
}

/// <summary><c>ponder serve</c> options checked before anything loads.</summary>
public sealed class ServeOptionTests
{
    [Theory]
    [InlineData("0", "'--keep-alive-seconds' must be in 1..3600")]
    [InlineData("soon", "'--keep-alive-seconds' expects an integer")]
    public async Task Serve_refuses_a_bad_keep_alive_interval_naming_the_option(string value, string expected)
    {
        var error = await Assert.ThrowsAsync<Ponder.Cli.UsageException>(() =>
            Ponder.Cli.ServeCommand.RunAsync(["--checkpoint", "missing", "--keep-alive-seconds", value], TextWriter.Null, CancellationToken.None));
        Assert.Contains(expected, error.Message);
    }
}
