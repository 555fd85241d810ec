using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Ponder.Tests.Serving;

/// <summary>Every malformed request gets a 4xx and OpenAI's error body naming the parameter.</summary>
public sealed class ErrorTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const string User = "\"messages\": [{\"role\": \"user\", \"content\": \"1 +2\"}]";

    public static TheoryData<string, string, int, string?, string> Cases => new()
    {
        // endpoint, body, status, param, code
        { "chat/completions", "{not json", 400, null, "invalid_json" },
        { "chat/completions", "[1, 2]", 400, null, "invalid_json" },
        { "chat/completions", $$"""{ {{User}} }""", 400, "model", "missing_required_parameter" },
        { "chat/completions", $$"""{"model": 3, {{User}} }""", 400, "model", "invalid_type" },
        { "chat/completions", $$"""{"model": "gpt-5", {{User}} }""", 404, "model", "model_not_found" },
        { "chat/completions", """{"model": "tiny"}""", 400, "messages", "missing_required_parameter" },
        { "chat/completions", """{"model": "tiny", "messages": []}""", 400, "messages", "invalid_value" },
        { "chat/completions", """{"model": "tiny", "messages": "1 +2"}""", 400, "messages", "invalid_type" },
        { "chat/completions", """{"model": "tiny", "messages": [3]}""", 400, "messages[0]", "invalid_type" },
        { "chat/completions", """{"model": "tiny", "messages": [{"role": "wizard", "content": "1"}]}""", 400, "messages[0].role", "invalid_value" },
        { "chat/completions", """{"model": "tiny", "messages": [{"content": "1"}]}""", 400, "messages[0].role", "missing_required_parameter" },
        { "chat/completions", """{"model": "tiny", "messages": [{"role": "user", "content": 7}]}""", 400, "messages[0].content", "invalid_type" },
        { "chat/completions", """{"model": "tiny", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}""", 400, "messages[0].content", "unsupported_parameter" },
        { "chat/completions", """{"model": "tiny", "messages": [{"role": "system", "content": "be brief"}]}""", 400, "messages", "invalid_value" },
        { "chat/completions", """{"model": "tiny", "messages": [{"role": "user", "content": "1"}, {"role": "assistant", "content": "#1"}]}""", 400, "messages", "invalid_value" },
        { "chat/completions", """{"model": "tiny", "messages": [{"role": "user", "content": "   "}]}""", 400, "messages", "invalid_value" },
        { "chat/completions", """{"model": "tiny", "messages": [{"role": "user", "content": "what is 1 + 2?"}]}""", 400, "messages", "invalid_value" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "user": 5}""", 400, "user", "invalid_type" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "metadata": "x"}""", 400, "metadata", "invalid_type" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "metadata": {"a": 1} }""", 400, "metadata.a", "invalid_type" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "store": "x"}""", 400, "store", "invalid_type" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "service_tier": 5}""", 400, "service_tier", "invalid_type" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "logit_bias": "x"}""", 400, "logit_bias", "invalid_type" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "tools": "x"}""", 400, "tools", "invalid_type" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "response_format": 5}""", 400, "response_format", "invalid_type" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "parallel_tool_calls": "x"}""", 400, "parallel_tool_calls", "invalid_type" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "tool_choice": 5}""", 400, "tool_choice", "invalid_type" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "tool_choice": {"type": "function", "function": {"name": "f"} } }""", 400, "tool_choice", "unsupported_parameter" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "seed": 99999999999999999999999}""", 400, "seed", "invalid_value" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "stream_options": {"include_usage": true} }""", 400, "stream_options", "invalid_value" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "n": 0}""", 400, "n", "invalid_value" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "n": 17}""", 400, "n", "invalid_value" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "n": 1.5}""", 400, "n", "invalid_type" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "n": "2"}""", 400, "n", "invalid_type" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "temperature": 2.5}""", 400, "temperature", "invalid_value" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "temperature": "hot"}""", 400, "temperature", "invalid_type" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "temperature": 1e309}""", 400, "temperature", "invalid_value" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "top_p": -1e400}""", 400, "top_p", "invalid_value" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "max_completion_tokens": 3, "max_tokens": "abc"}""", 400, "max_tokens", "invalid_type" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "stop": "{{new string('x', 1025)}}"}""", 400, "stop", "invalid_value" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "top_k": -2}""", 400, "top_k", "invalid_value" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "top_p": 0, "reasoning_effort": "medium"}""", 400, "top_p", "invalid_value" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "min_p": 0.1}""", 400, "min_p", "unsupported_parameter" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "repetition_penalty": 1.1}""", 400, "repetition_penalty", "unsupported_parameter" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "skip_special_tokens": false}""", 400, "skip_special_tokens", "unsupported_parameter" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "stop_token_ids": "x"}""", 400, "stop_token_ids", "invalid_type" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "stop_token_ids": [99999]}""", 400, "stop_token_ids", "invalid_value" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "prompt_cache_key": 5}""", 400, "prompt_cache_key", "invalid_type" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "top_p": 1.5}""", 400, "top_p", "invalid_value" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "max_tokens": 0}""", 400, "max_tokens", "invalid_value" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "max_tokens": 5000}""", 400, "messages", "context_length_exceeded" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "max_completion_tokens": -1}""", 400, "max_completion_tokens", "invalid_value" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "max_tokens": 95}""", 400, "messages", "context_length_exceeded" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "stop": ["1", "2", "3", "4", "5"]}""", 400, "stop", "invalid_value" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "stop": [1]}""", 400, "stop", "invalid_type" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "stop": ""}""", 400, "stop", "invalid_value" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "seed": "x"}""", 400, "seed", "invalid_type" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "seed": 1.5}""", 400, "seed", "invalid_type" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "stream": "yes"}""", 400, "stream", "invalid_type" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "stream_options": {"verbose": true} }""", 400, "stream_options.verbose", "unknown_parameter" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "reasoning_effort": "extreme"}""", 400, "reasoning_effort", "invalid_value" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "reasoning_effort": 2}""", 400, "reasoning_effort", "invalid_type" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "frobnicate": 1}""", 400, "frobnicate", "unknown_parameter" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "presence_penalty": 1}""", 400, "presence_penalty", "unsupported_parameter" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "logprobs": true, "reasoning_effort": "high"}""", 400, "logprobs", "invalid_value" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "logprobs": 2}""", 400, "logprobs", "invalid_type" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "top_logprobs": 2}""", 400, "top_logprobs", "invalid_value" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "logprobs": true, "top_logprobs": 21}""", 400, "top_logprobs", "invalid_value" },
        { "completions", """{"model": "tiny", "prompt": "1", "logprobs": true}""", 400, "logprobs", "invalid_type" },
        { "completions", """{"model": "tiny", "prompt": "1", "logprobs": 2, "top_logprobs": 2}""", 400, "top_logprobs", "unsupported_parameter" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "tools": [{"type": "function"}]}""", 400, "tools", "unsupported_parameter" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "response_format": {"type": "json_object"} }""", 400, "response_format", "unsupported_parameter" },
        { "chat/completions", $$"""{"model": "tiny", {{User}}, "prompt": "1 +2"}""", 400, "prompt", "unknown_parameter" },
        { "completions", """{"model": "tiny"}""", 400, "prompt", "missing_required_parameter" },
        { "completions", """{"model": "tiny", "prompt": 5}""", 400, "prompt", "invalid_type" },
        { "completions", """{"model": "tiny", "prompt": ["1", 2]}""", 400, "prompt", "invalid_value" },
        { "completions", """{"model": "tiny", "prompt": []}""", 400, "prompt", "invalid_value" },
        { "completions", """{"model": "tiny", "prompt": [[]]}""", 400, "prompt", "invalid_value" },
        { "completions", """{"model": "tiny", "prompt": [1, -2]}""", 400, "prompt", "invalid_value" },
        { "completions", """{"model": "tiny", "prompt": [1, 2.5]}""", 400, "prompt", "invalid_value" },
        { "completions", """{"model": "tiny", "prompt": [1, 99999]}""", 400, "prompt", "invalid_value" },
        { "completions", """{"model": "tiny", "prompt": {"text": "1"}}""", 400, "prompt", "invalid_type" },
        { "completions", """{"model": "tiny", "prompt": [1, 5, 6], "reasoning_effort": "low"}""", 400, "prompt", "invalid_value" },
        { "completions", """{"model": "tiny", "prompt": ""}""", 400, "prompt", "invalid_value" },
        { "completions", """{"model": "tiny", "prompt": "1", "echo": true, "reasoning_effort": "low"}""", 400, "echo", "invalid_value" },
        { "completions", """{"model": "tiny", "prompt": "1", "echo": "yes"}""", 400, "echo", "invalid_type" },
        { "completions", """{"model": "tiny", "prompt": "1", "max_tokens": 0}""", 400, "max_tokens", "invalid_value" },
        { "completions", """{"model": "tiny", "prompt": "1", "best_of": 3}""", 400, "best_of", "unsupported_parameter" },
        { "completions", $$"""{"model": "tiny", "prompt": "1", {{User}} }""", 400, "messages", "unknown_parameter" },
        { "completions", """{"model": "tiny", "prompt": "1", "max_completion_tokens": 3}""", 400, "max_completion_tokens", "unknown_parameter" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Malformed_request_gets_openai_error_json(string endpoint, string body, int status, string? param, string code)
    {
        var (actual, json) = await ServerFixture.PostAsync(fixture.Http, fixture.Server, endpoint, body);

        Assert.Equal(status, (int)actual);
        var error = json!["error"]!;
        Assert.Equal(param, (string?)error["param"]);
        Assert.Equal(code, (string?)error["code"]);
        Assert.Equal("invalid_request_error", (string?)error["type"]);
        Assert.False(string.IsNullOrWhiteSpace((string?)error["message"]));
        Assert.Equal(0, fixture.Server.Queue.Failed);
    }

    [Fact]
    public async Task Body_over_the_limit_is_413()
    {
        string padding = new(' ', (int)fixture.Server.Options.MaxBodyBytes);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(fixture.Server.BaseAddress, "chat/completions"))
        {
            Content = new StringContent(ServerFixture.Chat().Insert(1, padding), Encoding.UTF8, "application/json"),
        };
        request.Headers.ExpectContinue = true;      // the answer comes before the body is sent, so no upload races the server closing
        using var response = await fixture.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("request_too_large", (string?)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!["code"]);
    }

    [Fact]
    public async Task A_body_that_is_not_utf8_is_400_invalid_json_not_a_server_error()
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(ServerFixture.Chat());
        int at = Array.IndexOf(utf8, (byte)'1');                 // inside the user's content
        byte[] body = [.. utf8[..at], 0xFF, 0xFE, .. utf8[at..]];
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new("application/json");

        using var response = await fixture.Http.PostAsync(new Uri(fixture.Server.BaseAddress, "chat/completions"), content);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!;
        Assert.Equal(("invalid_json", "The request body is not valid UTF-8."), ((string?)error["code"], (string?)error["message"]));
    }

    [Theory]
    [InlineData("text/plain", 415)]
    [InlineData("application/x-www-form-urlencoded", 415)]
    [InlineData("application/json; charset=utf-8", 200)]
    public async Task A_declared_media_type_must_be_json(string type, int status)
    {
        using var content = new StringContent(ServerFixture.Chat("\"max_tokens\": 4"));
        content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(type);

        using var response = await fixture.Http.PostAsync(new Uri(fixture.Server.BaseAddress, "chat/completions"), content);

        Assert.Equal(status, (int)response.StatusCode);
        if (status == 415)
            Assert.Equal("unsupported_media_type", (string?)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!["code"]);
    }

    [Fact]
    public async Task A_body_that_stops_short_of_its_content_length_times_out_as_408_not_500()
    {
        // Given a raw request that promises 5,000 bytes, sends a short body and then waits
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync(fixture.Server.BaseAddress.Host, fixture.Server.BaseAddress.Port);
        var stream = client.GetStream();
        byte[] request = Encoding.ASCII.GetBytes(
            $"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{ServerFixture.Chat()}");
        await stream.WriteAsync(request);

        // When the server gives up on the rest (Kestrel's minimum body data rate, after its 5-second grace)
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var buffer = new byte[4096];
        string answer = "";
        for (int read; !answer.Contains("}}") && (read = await stream.ReadAsync(buffer, timeout.Token)) > 0;)
            answer += Encoding.ASCII.GetString(buffer, 0, read);

        // Then it answers 408 with OpenAI's error body
        Assert.StartsWith("HTTP/1.1 408 ", answer);
        Assert.Contains("\"code\":\"request_timeout\"", answer);
    }

    [Theory]
    [InlineData("GET", "chat/completions", "POST")]
    [InlineData("PUT", "completions", "POST")]
    [InlineData("POST", "models", "GET")]
    [InlineData("DELETE", "models/tiny", "GET")]
    public async Task A_known_path_asked_with_another_method_is_405_naming_the_allowed_one(string method, string path, string allowed)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(fixture.Server.BaseAddress, path));

        using var response = await fixture.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal([allowed], response.Content.Headers.Allow);
        Assert.Equal("method_not_allowed", (string?)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!["code"]);
    }

    [Fact]
    public async Task Unknown_path_is_404_with_error_json()
    {
        var (status, body) = await ServerFixture.SendAsync(fixture.Http, fixture.Server, HttpMethod.Get, "engines", null);
        var (model, modelBody) = await ServerFixture.SendAsync(fixture.Http, fixture.Server, HttpMethod.Get, "models/gpt-5", null);

        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("not_found", (string?)body!["error"]!["code"]);
        Assert.Equal(HttpStatusCode.NotFound, model);
        Assert.Equal("model_not_found", (string?)modelBody!["error"]!["code"]);
    }
}

public sealed class ShutdownTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Stopping_the_server_stops_a_long_search_and_answers_it_503()
    {
        // Given a server whose high effort is a search far longer than the test, and a request running it
        var server = await TinyServedModel.ServeEndlessSearch(_dir);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        var request = ServerFixture.PostAsync(http, server, "chat/completions", ServerFixture.Chat("\"reasoning_effort\": \"high\""));
        await Task.Delay(500);

        // When the server stops
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await server.DisposeAsync();
        var (status, body) = await request;

        // Then the search was stopped, not waited for, and its request answered as a server that is going away
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"stopping took {clock.Elapsed}");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("The server is shutting down.", (string?)body!["error"]!["message"]);
    }

    [Fact]
    public async Task Stopping_the_server_under_a_stream_ends_it_with_an_error_event_not_as_if_the_answer_were_whole()
    {
        // Given an endless policy streaming a request for 65,000 tokens
        string checkpoint = TinyServedModel.Save(_dir, maxPositions: 65_100, endless: true);
        var server = await TinyServedModel.Serve(TinyServedModel.Load(checkpoint), new Ponder.Serving.ServerOptions { MaxTokens = 65_000 });
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        using var message = new HttpRequestMessage(HttpMethod.Post, new Uri(server.BaseAddress, "chat/completions"))
        {
            Content = new StringContent(ServerFixture.Chat("\"max_tokens\": 65000, \"stream\": true"), Encoding.UTF8, "application/json"),
        };
        using var response = await http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead);
        var events = response.Content.ReadAsStringAsync();
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (server.Queue.PeakBatchRows < 1 && DateTime.UtcNow < until) await Task.Delay(20);

        // When the server stops
        await server.DisposeAsync();

        // Then the stream's last event says so, and no [DONE] follows it
        string text = await events;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("The server is shutting down.", text);
        Assert.DoesNotContain("[DONE]", text);
    }

    [Fact]
    public async Task Stopping_the_server_stops_the_decode_batch_and_answers_its_requests_503()
    {
        // Given an endless policy and two requests for 65,000 tokens each, decoding together
        string checkpoint = TinyServedModel.Save(_dir, maxPositions: 65_100, endless: true);
        var server = await TinyServedModel.Serve(TinyServedModel.Load(checkpoint), new Ponder.Serving.ServerOptions { MaxTokens = 65_000 });
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        var requests = Enumerable.Range(0, 2).Select(_ => ServerFixture.PostAsync(http, server, "chat/completions", ServerFixture.Chat("\"max_tokens\": 65000"))).ToArray();
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (server.Queue.PeakBatchRows < 2 && DateTime.UtcNow < until) await Task.Delay(20);

        // When the server stops
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await server.DisposeAsync();
        var answers = await Task.WhenAll(requests);

        // Then both were stopped, not waited for, and answered as requests to a server that is going away
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"stopping took {clock.Elapsed}");
        Assert.All(answers, a => Assert.Equal(HttpStatusCode.ServiceUnavailable, a.Status));
        Assert.All(answers, a => Assert.Equal("The server is shutting down.", (string?)a.Body!["error"]!["message"]));
    }
}
