using System.Text.Json.Nodes;
using Ponder.Policy;
using Ponder.Rewards;
using Ponder.Serving;
using Ponder.Tasks;

namespace Ponder.Tests.Serving;

/// <summary>High effort with a process reward model: votes weighted by step scores.</summary>
public sealed class PrmServingTests
{
    /// <summary>Trusts only solutions that end in the answer 9, which the tiny policy writes a fifth as often as 4.</summary>
    private sealed class TrustsNine : IProcessReward
    {
        public int Calls { get; private set; }

        public IReadOnlyList<IReadOnlyList<double>> ScoreSteps(IReadOnlyList<Problem> problems, IReadOnlyList<IReadOnlyList<string>> steps)
        {
            Calls++;
            Assert.All(problems, p => Assert.Equal(ServerFixture.Prompt, p.Prompt));
            return steps.Select(s => (IReadOnlyList<double>)s.Select(_ => s.Contains("#9") ? 0.9 : 0.01).ToList()).ToList();
        }
    }

    [Fact]
    public async Task High_effort_with_a_prm_returns_the_answer_the_prm_trusts_over_the_majority()
    {
        using var dir = new TempDirectory();
        string checkpoint = TinyServedModel.Save(dir);
        var prm = new TrustsNine();
        await using var server = await TinyServedModel.Serve(TinyServedModel.Load(checkpoint), new ServerOptions { Effort = EffortSettings.WithPrm, Prm = prm });
        using var http = new HttpClient();

        var (_, high) = await ServerFixture.PostAsync(http, server, "chat/completions", ServerFixture.Chat("\"reasoning_effort\": \"high\", \"seed\": 3, \"max_tokens\": 30"));
        var (_, medium) = await ServerFixture.PostAsync(http, server, "chat/completions", ServerFixture.Chat("\"reasoning_effort\": \"medium\", \"seed\": 3, \"max_tokens\": 30"));

        var local = TinyServedModel.Load(checkpoint);
        var expected = await new VoteReasoner(32, new TrustsNine()).ReasonAsync(local, ServerFixture.Prompt, new SamplingOptions { Temperature = 1, MaxNewTokens = 30, Seed = 3 });
        Assert.Equal("9", expected.Answer);
        Assert.Equal(expected.Chosen.Text, (string?)high!["choices"]![0]!["message"]!["content"]);
        Assert.Equal("4", Answers.Read((string)medium!["choices"]![0]!["message"]!["content"]!));   // medium stays a plain majority
        Assert.Equal(1, prm.Calls);
    }

    [Fact]
    public async Task Serve_loads_a_prm_checkpoint_and_high_effort_defaults_to_prm_vote()
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

        Assert.Contains("high = prm-vote:32@1", output.ToString());
        Assert.True(response.IsSuccessStatusCode, body.ToJsonString());
        Assert.True((int)body["usage"]!["completion_tokens_details"]!["reasoning_tokens"]! > 0);
        Assert.Equal(0, await serving);
    }
}
