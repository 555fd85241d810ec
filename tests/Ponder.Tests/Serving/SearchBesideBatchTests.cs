using System.Net;
using Ponder.Serving;

namespace Ponder.Tests.Serving;

/// <summary>Searches run beside the decode batch: neither waits for the other to finish.</summary>
public sealed class SearchBesideBatchTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Plain_requests_are_answered_while_a_long_search_runs()
    {
        // Given a server whose high effort is a search far longer than the test, running one
        string checkpoint = TinyServedModel.Save(_dir, maxPositions: 160, endless: true);
        var server = await TinyServedModel.Serve(TinyServedModel.Load(checkpoint),
            new ServerOptions { Effort = new EffortSettings { High = EffortPlan.Parse("best-of-n:1000000") } });
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        var search = ServerFixture.PostAsync(http, server, "chat/completions", ServerFixture.Chat("\"reasoning_effort\": \"high\""));
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (server.Queue.Searching == 0 && DateTime.UtcNow < until) await Task.Delay(10);
        Assert.Equal(1, server.Queue.Searching);

        // When plain requests come meanwhile, one of them streamed
        var plain = Enumerable.Range(0, 2).Select(seed => ServerFixture.PostAsync(http, server, "chat/completions",
            ServerFixture.Chat($"\"max_tokens\": 40, \"temperature\": 1, \"seed\": {seed}"))).ToArray();
        using var content = new StringContent(ServerFixture.Chat("\"max_tokens\": 40, \"stream\": true"), System.Text.Encoding.UTF8, "application/json");
        using var streamed = await http.PostAsync(new Uri(server.BaseAddress, "chat/completions"), content);
        var events = await streamed.Content.ReadAsStringAsync();
        var answers = await Task.WhenAll(plain);

        // Then they are answered in full while the search goes on; stopping the server then stops the search
        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.Status));
        Assert.All(answers, a => Assert.Equal(40, (int)a.Body!["usage"]!["completion_tokens"]!));
        Assert.EndsWith("data: [DONE]\n\n", events);
        Assert.False(search.IsCompleted);
        Assert.Equal(1, server.Queue.Searching);
        await server.DisposeAsync();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await search).Status);
    }
}
