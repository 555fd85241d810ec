using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Ponder.Cli;
using Ponder.Tests.Serving;

namespace Ponder.Tests.Cli;

public sealed class ServeCommandTests
{
    [Fact]
    public void Bad_effort_plan_is_a_usage_error_before_loading_anything()
    {
        var error = new StringWriter();

        int code = Entry.Run(["serve", "--checkpoint", "/nonexistent", "--effort-medium", "vote:4"], error);

        Assert.Equal(2, code);
        Assert.Contains("--effort-medium", error.ToString());
        Assert.Contains("unknown strategy 'vote'", error.ToString());
    }

    [Fact]
    public void Prm_aggregation_without_a_prm_is_a_usage_error()
    {
        var error = new StringWriter();

        int code = Entry.Run(["serve", "--checkpoint", "/nonexistent", "--prm-aggregation", "min"], error);

        Assert.Equal(2, code);
        Assert.Contains("--prm-aggregation needs --prm", error.ToString());
    }

    [Fact]
    public void Prm_beam_search_without_a_prm_is_a_usage_error_naming_the_option()
    {
        using var dir = new TempDirectory();
        string checkpoint = TinyServedModel.Save(dir);
        var error = new StringWriter();

        int code = Entry.Run(["serve", "--checkpoint", checkpoint, "--port", "0", "--effort-high", "beam:16"], error);

        Assert.Equal(2, code);
        Assert.Contains("effort plan 'beam:16@1': beam search needs a process reward model", error.ToString());
        Assert.Contains("--prm C", error.ToString());
    }

    [Fact]
    public async Task Serve_prints_its_endpoint_answers_and_stops_when_cancelled()
    {
        // Given a checkpoint folder named like a model
        using var dir = new TempDirectory();
        string checkpoint = TinyServedModel.Save(dir);
        var output = new StringWriter();
        using var stop = new CancellationTokenSource();

        // When serve runs on a free loopback port
        var serving = ServeCommand.RunAsync(["--checkpoint", checkpoint, "--port", "0", "--effort-medium", "best-of-n:4"], TextWriter.Synchronized(output), stop.Token);
        Match endpoint = Match.Empty;
        for (int i = 0; i < 1000 && !(endpoint = Regex.Match(output.ToString(), @"at (http://127\.0\.0\.1:\d+/v1/)")).Success; i++)
        {
            Assert.False(serving.IsCompleted, output.ToString());
            await Task.Delay(10);
        }
        using var http = new HttpClient();
        var models = JsonNode.Parse(await http.GetStringAsync(new Uri(new Uri(endpoint.Groups[1].Value), "models")))!;
        await stop.CancelAsync();

        // Then it served the checkpoint under its folder name, said what each effort runs, and exited cleanly
        Assert.Equal(Path.GetFileName(checkpoint), (string?)models["data"]![0]!["id"]);
        Assert.Contains("medium = best-of-n:4@1", output.ToString());
        Assert.Equal(0, await serving);
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => http.GetStringAsync(new Uri(new Uri(endpoint.Groups[1].Value), "models")));
    }
}
