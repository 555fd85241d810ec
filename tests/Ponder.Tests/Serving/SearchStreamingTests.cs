#pragma warning disable OPENAI001 // Seed and reasoning effort are marked experimental in the OpenAI SDK.
using System.ClientModel;
using System.Text;
using System.Text.Json.Nodes;
using OpenAI;
using OpenAI.Chat;
using Ponder.Serving;

namespace Ponder.Tests.Serving;

/// <summary>
/// Searches behind reasoning_effort, on loopback: streamed (keep-alive comments while the search runs, then its
/// answer) and cancelled part-way by a client that goes away. <see cref="HoldingPrm"/> holds each search in its first
/// PRM call, so what happens while a search runs is ordered by the test, not by timing.
/// </summary>
public sealed class SearchStreamingTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _endless;

    public SearchStreamingTests() => _endless = TinyServedModel.Save(_dir, maxPositions: 160, endless: true);

    public void Dispose() => _dir.Dispose();

    /// <summary>A server whose high effort is <paramref name="plan"/> guided by <paramref name="prm"/>.</summary>
    private Task<PonderServer> Serve(string plan, HoldingPrm prm, TimeSpan keepAlive) =>
        TinyServedModel.Serve(TinyServedModel.Load(_endless),
            new ServerOptions { Effort = new EffortSettings { High = EffortPlan.Parse(plan) }, Prm = prm, KeepAlive = keepAlive });

    private const string HighEffort = "\"reasoning_effort\": \"high\", \"seed\": 4, \"max_tokens\": 40";

    [Fact]
    public async Task Streamed_search_sends_keep_alive_comments_while_it_runs_then_the_answer_a_step_a_chunk()
    {
        // Given a best-of-8 search whose PRM holds it until the client has seen a keep-alive comment
        var prm = new HoldingPrm();
        await using var server = await Serve("best-of-n:8@1,selector=prm-max", prm, TimeSpan.FromMilliseconds(20));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

        // When the client streams high effort, reading event by event
        using var content = new StringContent(ServerFixture.Chat(HighEffort + ", \"stream\": true, \"stream_options\": {\"include_usage\": true}"), Encoding.UTF8, "application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server.BaseAddress, "chat/completions")) { Content = content };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var events = new List<string>();
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.Length == 0) continue;
            events.Add(line);
            if (line.StartsWith(':')) prm.Release();
        }
        var (_, whole) = await ServerFixture.PostAsync(http, server, "chat/completions", ServerFixture.Chat(HighEffort));

        // Then the role comes first, comments while the search is held, and only then the answer, finish, usage and [DONE]
        Assert.True(prm.Held.IsCompleted && !prm.SawCancellation);
        int comments = events.Count(e => e.StartsWith(':'));
        Assert.True(comments >= 1, string.Join("\n", events));
        Assert.All(events.Take(comments + 1).Skip(1), e => Assert.Equal(": keep-alive", e));
        var chunks = events.Where(e => !e.StartsWith(':')).Select(e => e.StartsWith("data: ", StringComparison.Ordinal) ? e[6..] : throw new InvalidDataException(e)).ToList();
        Assert.Equal("[DONE]", chunks[^1]);
        var json = chunks[..^1].Select(c => JsonNode.Parse(c)!).ToList();
        Assert.Equal("assistant", (string?)json[0]["choices"]![0]!["delta"]!["role"]);
        var deltas = json.Where(c => c["choices"]!.AsArray().Count > 0).Select(c => (string?)c["choices"]![0]!["delta"]!["content"]).OfType<string>().Where(t => t.Length > 0).ToList();
        string answer = (string)whole!["choices"]![0]!["message"]!["content"]!;
        Assert.Equal(answer, string.Concat(deltas));
        Assert.Equal(answer.Count(c => c == '\n') + (answer.EndsWith('\n') ? 0 : 1), deltas.Count);   // one step (line) a chunk
        Assert.All(deltas.SkipLast(1), d => Assert.Equal(d.Length - 1, d.IndexOf('\n')));
        Assert.Equal((string?)whole["choices"]![0]!["finish_reason"], (string?)json[^2]["choices"]![0]!["finish_reason"]);
        int reasoning = (int)json[^1]["usage"]!["completion_tokens_details"]!["reasoning_tokens"]!;
        Assert.Equal((int)whole["usage"]!["completion_tokens_details"]!["reasoning_tokens"]!, reasoning);
        Assert.True(reasoning > 0);
    }

    [Fact]
    public async Task Openai_sdk_streams_a_search_plan_as_the_non_streamed_answer_with_reasoning_tokens()
    {
        // Given a beam search whose first PRM call takes 300 ms, with keep-alive comments every 20 ms meanwhile
        await using var server = await Serve("beam:8,expansions=4", new HoldingPrm(TimeSpan.FromMilliseconds(300)), TimeSpan.FromMilliseconds(20));
        var client = new ChatClient("tiny", new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = server.BaseAddress });
        var options = new ChatCompletionOptions { ReasoningEffortLevel = ChatReasoningEffortLevel.High, Seed = 4, MaxOutputTokenCount = 40 };

        // When the official SDK streams it, and then asks for it whole with the same seed
        var deltas = new StringBuilder();
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage(TinyServedModel.Problem)], options))
        {
            foreach (var part in update.ContentUpdate) deltas.Append(part.Text);
            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }
        ChatCompletion whole = await client.CompleteChatAsync([new UserChatMessage(TinyServedModel.Problem)], options);

        // Then the streamed content is the search's answer, and the usage chunk carries its reasoning tokens
        Assert.Equal(whole.Content.Single().Text, deltas.ToString());
        Assert.Equal(whole.FinishReason, finish);
        Assert.NotNull(usage);
        Assert.Equal(whole.Usage.OutputTokenCount, usage.OutputTokenCount);
        Assert.Equal(whole.Usage.OutputTokenDetails.ReasoningTokenCount, usage.OutputTokenDetails.ReasoningTokenCount);
        Assert.True(usage.OutputTokenDetails.ReasoningTokenCount > 0);
    }

    [Fact]
    public async Task Client_that_cancels_a_search_stops_it_within_one_step_and_frees_the_model()
    {
        // Given a 16-beam search over up to 40 tokens (a PRM call per step, had it run on), held in its first PRM call
        var prm = new HoldingPrm();
        await using var server = await Serve("beam:16,expansions=4", prm, TimeSpan.FromSeconds(15));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

        // When the client cancels its request once the search is under way
        var request = ServerFixture.PostAsync(http, server, "chat/completions", ServerFixture.Chat(HighEffort));
        await prm.Held.WaitAsync(TimeSpan.FromSeconds(30));
        http.CancelPendingRequests();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);

        // Then the cancellation reaches the search, which stops before its next step and counts as cancelled, not failed
        await Until(() => server.Queue.Cancelled == 1);
        Assert.True(prm.SawCancellation);
        Assert.Equal(1, prm.Calls);
        Assert.Equal(0, server.Queue.Failed);
        Assert.Equal(0, server.Queue.Completed);

        // and the model is free for the next request
        var (status, _) = await ServerFixture.PostAsync(http, server, "chat/completions", ServerFixture.Chat("\"reasoning_effort\": \"low\", \"max_tokens\": 10"));
        Assert.Equal(System.Net.HttpStatusCode.OK, status);
        Assert.Equal(1, server.Queue.Completed);
    }

    [Fact]
    public async Task Client_that_leaves_a_streamed_search_stops_it()
    {
        // Given a streamed 16-beam search, held in its first PRM call, sending keep-alive comments
        var prm = new HoldingPrm();
        await using var server = await Serve("beam:16,expansions=4", prm, TimeSpan.FromMilliseconds(20));
        using var leaving = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 });   // disposing a response closes the connection
        using var content = new StringContent(ServerFixture.Chat(HighEffort + ", \"stream\": true"), Encoding.UTF8, "application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server.BaseAddress, "chat/completions")) { Content = content };

        // When the client reads a keep-alive comment sent while the search is held, and goes away
        using (var response = await leaving.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            while (await reader.ReadLineAsync() is { } line && !(line.StartsWith(':') && prm.Held.IsCompleted)) { }
        }

        // Then the search stops at its next step, cancelled
        await Until(() => server.Queue.Cancelled == 1);
        Assert.True(prm.SawCancellation);
        Assert.Equal(1, prm.Calls);
        Assert.Equal(0, server.Queue.Failed + server.Queue.Completed);
    }

    [Fact]
    public async Task Keep_alive_interval_must_be_positive()
    {
        var e = await Assert.ThrowsAsync<ArgumentException>(() => Serve("greedy", new HoldingPrm(), TimeSpan.Zero));

        Assert.Contains("keep-alive interval must be positive", e.Message, StringComparison.Ordinal);
    }

    private static async Task Until(Func<bool> condition)
    {
        for (var waited = TimeSpan.Zero; !condition(); waited += TimeSpan.FromMilliseconds(10))
        {
            if (waited > TimeSpan.FromSeconds(20)) throw new TimeoutException("condition not reached in 20 s");
            await Task.Delay(10);
        }
    }
}
