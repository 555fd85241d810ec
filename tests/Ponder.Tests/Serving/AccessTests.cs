using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Ponder.Policy;
using Ponder.Serving;

namespace Ponder.Tests.Serving;

/// <summary>API key, the bounded queue, one decode batch for concurrent clients, and clients that go away.</summary>
public sealed class AccessTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };

    public void Dispose()
    {
        _http.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public async Task Api_key_is_required_on_every_route_when_set()
    {
        await using var server = await TinyServedModel.Serve(TinyServedModel.Load(TinyServedModel.Save(_dir)), new ServerOptions { ApiKey = "k-123" });

        var none = await ServerFixture.PostAsync(_http, server, "chat/completions", ServerFixture.Chat());
        var wrong = await ServerFixture.PostAsync(_http, server, "chat/completions", ServerFixture.Chat(), apiKey: "k-124");
        var models = await ServerFixture.SendAsync(_http, server, HttpMethod.Get, "models", null);
        var right = await ServerFixture.PostAsync(_http, server, "chat/completions", ServerFixture.Chat("\"temperature\": 0"), apiKey: "k-123");

        Assert.Equal(HttpStatusCode.Unauthorized, none.Status);
        Assert.Equal("invalid_api_key", (string?)none.Body!["error"]!["code"]);
        Assert.Equal("authentication_error", (string?)none.Body!["error"]!["type"]);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.Status);
        Assert.Equal(HttpStatusCode.Unauthorized, models.Status);
        Assert.Equal(HttpStatusCode.OK, right.Status);
        Assert.Equal("#4", (string?)right.Body!["choices"]![0]!["message"]!["content"]);
    }

    [Fact]
    public async Task Full_queue_answers_429_and_the_waiting_requests_still_complete()
    {
        // Given a queue of two and a worker held before its next job
        await using var server = await TinyServedModel.Serve(TinyServedModel.Load(TinyServedModel.Save(_dir)), new ServerOptions { MaxQueue = 2 });
        Task<(HttpStatusCode, JsonNode?)>[] waiting;
        (HttpStatusCode Status, JsonNode? Body) refused;
        using (server.Queue.Pause())
        {
            // When two requests fill the queue and a third arrives
            waiting = [ServerFixture.PostAsync(_http, server, "chat/completions", ServerFixture.Chat("\"temperature\": 0")),
                ServerFixture.PostAsync(_http, server, "completions", $$"""{"model": "tiny", "prompt": "1 +2\n", "temperature": 0}""")];
            await Until(() => server.Queue.Waiting == 2);
            refused = await ServerFixture.PostAsync(_http, server, "chat/completions", ServerFixture.Chat());
        }

        // Then the third is refused with OpenAI's rate-limit error, and the two run once the worker goes on
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.Status);
        Assert.Equal("rate_limit_error", (string?)refused.Body!["error"]!["type"]);
        Assert.Equal("queue_full", (string?)refused.Body!["error"]!["code"]);
        var done = await Task.WhenAll(waiting);
        Assert.All(done, d => Assert.Equal(HttpStatusCode.OK, d.Item1));
        Assert.Equal(2, server.Queue.Completed);
    }

    [Fact]
    public async Task Concurrent_requests_share_one_decode_batch_and_each_gets_its_own_answer()
    {
        // Given six requests of three choices each, all waiting while the worker is held
        string checkpoint = TinyServedModel.Save(_dir);
        var local = TinyServedModel.Load(checkpoint);
        await using var server = await TinyServedModel.Serve(TinyServedModel.Load(checkpoint));
        Task<(HttpStatusCode Status, JsonNode? Body)>[] requests;
        using (server.Queue.Pause())
        {
            requests = Enumerable.Range(0, 6).Select(seed =>
                ServerFixture.PostAsync(_http, server, "chat/completions", ServerFixture.Chat($"\"n\": 3, \"seed\": {seed}, \"max_tokens\": 30"))).ToArray();
            await Until(() => server.Queue.Waiting == 6);
        }
        var responses = await Task.WhenAll(requests);

        // Then their 18 rows were decoded in one batch, and each request got what the policy gives it alone
        Assert.Equal(18, server.Queue.PeakBatchRows);
        for (int seed = 0; seed < 6; seed++)
        {
            var expected = local.Generate(local.Encode(ServerFixture.Prompt), 3, new SamplingOptions { Temperature = 1, MaxNewTokens = 30, Seed = seed });
            var texts = responses[seed].Body!["choices"]!.AsArray().Select(c => (string?)c!["message"]!["content"]);
            Assert.Equal(expected.Select(g => LocalPolicy.ToCompletion(g).Text), texts);
        }
        Assert.Equal(6, server.Queue.Completed);
    }

    [Fact]
    public async Task A_request_of_many_prompts_takes_one_place_in_the_queue()
    {
        // Given a queue of two, and one completions request of twenty prompts
        await using var server = await TinyServedModel.Serve(TinyServedModel.Load(TinyServedModel.Save(_dir)), new ServerOptions { MaxQueue = 2 });
        var prompts = string.Join(", ", Enumerable.Range(0, 20).Select(i => $"\"{i} +{i}\\n\""));

        var (status, body) = await ServerFixture.PostAsync(_http, server, "completions", $$"""{"model": "tiny", "prompt": [{{prompts}}], "temperature": 0, "max_tokens": 5}""");

        // Then it is one job, answered with a choice per prompt
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(20, body!["choices"]!.AsArray().Count);
        Assert.Equal(1, server.Queue.Completed);

        // and scoring echoed prompts is part of their job, not a second one
        var (echoed, _) = await ServerFixture.PostAsync(_http, server, "completions", $$"""{"model": "tiny", "prompt": [{{prompts}}], "echo": true, "logprobs": 2, "max_tokens": 3}""");
        Assert.Equal(HttpStatusCode.OK, echoed);
        Assert.Equal(2, server.Queue.Completed);
    }

    [Fact]
    public async Task Client_that_leaves_while_queued_has_its_job_skipped()
    {
        await using var server = await TinyServedModel.Serve(TinyServedModel.Load(TinyServedModel.Save(_dir)));
        using (server.Queue.Pause())
        {
            using var leave = new CancellationTokenSource();
            using var content = new StringContent(ServerFixture.Chat(), Encoding.UTF8, "application/json");
            var request = _http.PostAsync(new Uri(server.BaseAddress, "chat/completions"), content, leave.Token);
            await Until(() => server.Queue.Waiting == 1);
            await leave.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);
            await Task.Delay(100);                                  // the server notices the closed connection
        }
        await Until(() => server.Queue.Cancelled == 1);
        Assert.Equal(0, server.Queue.Completed);
    }

    [Fact]
    public async Task Client_that_leaves_mid_stream_stops_the_generation()
    {
        // Given an endless policy asked for 65,000 tokens (many seconds of decoding, so that the client leaves first
        // even when a busy machine delays its reads), streamed, to a client that closes its connection when it
        // disposes an unfinished response (rather than reading the rest to reuse the connection)
        await using var server = await TinyServedModel.Serve(TinyServedModel.Load(TinyServedModel.Save(_dir, maxPositions: 65_100, endless: true)),
            new ServerOptions { MaxTokens = 65_000 });
        using var leaving = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 });
        using var content = new StringContent(ServerFixture.Chat("\"stream\": true, \"max_tokens\": 65000"), Encoding.UTF8, "application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server.BaseAddress, "chat/completions")) { Content = content };

        // When the client reads the first text delta and goes away
        var read = new List<string>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using (var response = await leaving.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            while (await reader.ReadLineAsync() is { } line)
            {
                read.Add(line);
                if (line.Contains("\"content\":\"#", StringComparison.Ordinal)) break;
            }
        }
        var left = clock.Elapsed;

        // Then the job ends cancelled between decode pieces instead of running to 65,000 tokens
        await Until(() => server.Queue.Cancelled + server.Queue.Completed == 1);
        Assert.True(server.Queue.Cancelled == 1, $"the job completed; the client left after {left.TotalMilliseconds:F0} ms and "
            + $"{read.Count} lines, the last three: {string.Join(" | ", read.TakeLast(3))}");
    }

    private static async Task Until(Func<bool> condition)
    {
        for (var waited = TimeSpan.Zero; !condition(); waited += TimeSpan.FromMilliseconds(10))
        {
            if (waited > TimeSpan.FromSeconds(10)) throw new TimeoutException("condition not reached in 10 s");
            await Task.Delay(10);
        }
    }
}
