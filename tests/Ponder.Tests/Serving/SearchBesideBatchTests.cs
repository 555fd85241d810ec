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
        await using var server = await TinyServedModel.ServeEndlessSearch(_dir);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        var search = ServerFixture.PostAsync(http, server, "chat/completions", Search);
        await Until(() => server.Queue.Searching == 1);

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

    private static readonly string Search = ServerFixture.Chat("\"reasoning_effort\": \"high\"");

    private static async Task Until(Func<bool> condition)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < until, "timed out");
            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task Searches_wait_in_a_limit_of_their_own_and_one_whose_client_leaves_frees_its_place()
    {
        // Given a server that lets one request wait, running an endless search with another one waiting behind it
        await using var server = await TinyServedModel.ServeEndlessSearch(_dir, maxQueue: 1);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        var running = ServerFixture.PostAsync(http, server, "chat/completions", Search);
        await Until(() => server.Queue.Searching == 1);
        using var leave = new CancellationTokenSource();
        using var body = new StringContent(Search, System.Text.Encoding.UTF8, "application/json");
        var waiting = http.PostAsync(new Uri(server.BaseAddress, "chat/completions"), body, leave.Token);
        await Until(() => server.Queue.Waiting == 1);

        // When a third search comes, and a plain request
        var (refused, _) = await ServerFixture.PostAsync(http, server, "chat/completions", Search);
        var (plain, answer) = await ServerFixture.PostAsync(http, server, "chat/completions", ServerFixture.Chat("\"max_tokens\": 10"));

        // Then the search is refused (429) and the plain request is answered: the waiting search holds no place of the batch's
        Assert.Equal(HttpStatusCode.TooManyRequests, refused);
        Assert.Equal(HttpStatusCode.OK, plain);
        Assert.Equal(10, (int)answer!["usage"]!["completion_tokens"]!);

        // And when the waiting search's client leaves, its place is free at once, while the first search still runs
        leave.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        await Until(() => server.Queue.Waiting == 0);
        var next = ServerFixture.PostAsync(http, server, "chat/completions", Search);
        await Until(() => server.Queue.Waiting == 1);
        Assert.False(next.IsCompleted);
        Assert.Equal(1, server.Queue.Searching);
        Assert.False(running.IsCompleted);
    }
}
