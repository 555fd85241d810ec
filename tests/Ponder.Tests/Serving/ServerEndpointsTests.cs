using System.Net;
using System.Text.Json.Nodes;
using Ponder.Serving;

namespace Ponder.Tests.Serving;

/// <summary>vLLM's endpoints beside the OpenAI API: /health, /metrics, /tokenize and /detokenize.</summary>
public sealed class ServerEndpointsTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };

    public void Dispose()
    {
        _http.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public async Task Health_and_metrics_answer_without_the_api_key_and_metrics_count_what_was_served()
    {
        // Given a server with an API key, which answered one request of 3 completions
        var local = TinyServedModel.Load(TinyServedModel.Save(_dir));
        await using var server = await TinyServedModel.Serve(TinyServedModel.Load(TinyServedModel.Save(_dir)), new ServerOptions { ApiKey = "k-1" });
        var answer = await ServerFixture.PostAsync(_http, server, "chat/completions", ServerFixture.Chat("\"n\": 3"), apiKey: "k-1");
        Assert.Equal(HttpStatusCode.OK, answer.Status);

        // When a monitor asks for health and metrics without the key (also as /Health/, which routing takes for /health)
        using var health = await _http.GetAsync(new Uri(server.BaseAddress, "/health"));
        using var healthSpelled = await _http.GetAsync(new Uri(server.BaseAddress, "/Health/"));
        string metrics = await _http.GetStringAsync(new Uri(server.BaseAddress, "/metrics"));
        var models = await ServerFixture.SendAsync(_http, server, HttpMethod.Get, "models", null);

        // Then both answer (the /v1 API still asks for the key), and the metrics hold the request's tokens in Prometheus's format
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(HttpStatusCode.OK, healthSpelled.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, models.Status);
        double Value(string name) => double.Parse(metrics.Split('\n').Single(l => l.StartsWith($"ponder:{name}{{", StringComparison.Ordinal)).Split(' ')[^1],
            System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains("# TYPE ponder:generation_tokens_total counter", metrics);
        Assert.Contains("{model_name=\"tiny\"}", metrics);
        Assert.Equal(1, Value("request_success_total"));
        Assert.Equal((int)answer.Body!["usage"]!["prompt_tokens"]!, Value("prompt_tokens_total"));
        Assert.Equal((int)answer.Body!["usage"]!["completion_tokens"]!, Value("generation_tokens_total"));
        Assert.Equal(0, Value("num_requests_waiting"));
        Assert.Equal(0, Value("batch_rows_running"));                                       // all finished
        Assert.True(Value("batch_row_steps_total") >= Value("generation_tokens_total") - 3); // each row's last token is sampled, not stepped
        Assert.True(Value("batch_steps_total") > 0);
    }

    [Fact]
    public async Task Tokenize_gives_the_ids_the_completions_run_and_detokenize_their_text()
    {
        // Given a server of the tiny policy
        var local = TinyServedModel.Load(TinyServedModel.Save(_dir));
        await using var server = await TinyServedModel.Serve(TinyServedModel.Load(TinyServedModel.Save(_dir)));
        var tokenizer = local.Generator.Tokenizer;
        async Task<(HttpStatusCode Status, JsonNode? Body)> Post(string path, string json) => await ServerFixture.SendAsync(_http, server, HttpMethod.Post, path, json);

        // When a prompt is tokenized with and without special tokens, chat messages too, and ids are detokenized
        var withBos = await Post("/tokenize", "{\"prompt\": \"12 +3\"}");
        var bare = await Post("/tokenize", "{\"prompt\": \"12 +3\", \"add_special_tokens\": false}");
        var chat = await Post("/tokenize", $"{{\"messages\": [{{\"role\": \"user\", \"content\": \"{TinyServedModel.Problem}\"}}]}}");
        var text = await Post("/detokenize", $"{{\"tokens\": [{string.Join(", ", local.Encode("12 +3"))}]}}");
        var unknown = await Post("/detokenize", "{\"tokens\": [99999]}");
        var both = await Post("/tokenize", "{\"prompt\": \"1\", \"messages\": []}");
        var typo = await Post("/tokenize", "{\"prompt\": \"1\", \"add_special_token\": false}");
        var vllmDefaults = await Post("/tokenize", $"{{\"messages\": [{{\"role\": \"user\", \"content\": \"{TinyServedModel.Problem}\"}}], \"add_generation_prompt\": true, " +
            "\"continue_final_message\": false, \"return_token_strs\": false, \"tools\": null, \"chat_template\": null, \"chat_template_kwargs\": null}");
        var lone = await Post("/tokenize", "{\"prompt\": \"a\\ud800b\"}");                                  // valid JSON, not text
        var loneChat = await ServerFixture.PostAsync(_http, server, "chat/completions",
            "{\"model\": \"tiny\", \"messages\": [{\"role\": \"user\", \"content\": \"\\udc00\"}]}");
        var noGenerationPrompt = await Post("/tokenize", "{\"messages\": [{\"role\": \"user\", \"content\": \"1\"}], \"add_generation_prompt\": false}");
        var otherModel = await Post("/tokenize", "{\"model\": \"other\", \"prompt\": \"1\"}");
        var sameModel = await Post("/detokenize", "{\"model\": \"tiny\", \"tokens\": []}");

        // Then the ids are those the completions endpoints run (BOS first), the chat prompt's are its rendering's, the text
        // comes back, and bad input is a 400 naming the field
        Assert.Equal(local.Encode("12 +3"), withBos.Body!["tokens"]!.AsArray().Select(t => (int)t!));
        Assert.Equal(tokenizer.Encode("12 +3"), bare.Body!["tokens"]!.AsArray().Select(t => (int)t!));
        Assert.Equal(local.Encode("12 +3").Length, (int)withBos.Body!["count"]!);
        Assert.Equal(local.MaxPositions, (int)withBos.Body!["max_model_len"]!);
        Assert.Equal(local.Encode(ServerFixture.Prompt), chat.Body!["tokens"]!.AsArray().Select(t => (int)t!));
        Assert.Equal("12 +3", (string?)text.Body!["prompt"]);
        Assert.Equal(HttpStatusCode.BadRequest, unknown.Status);
        Assert.Equal("tokens", (string?)unknown.Body!["error"]!["param"]);
        Assert.Equal(HttpStatusCode.BadRequest, both.Status);
        Assert.Equal("add_special_token", (string?)typo.Body!["error"]!["param"]);               // nothing silently ignored
        Assert.Equal(chat.Body!["tokens"]!.ToJsonString(), vllmDefaults.Body!["tokens"]!.ToJsonString());   // vLLM's fields at their defaults
        Assert.Equal("add_generation_prompt", (string?)noGenerationPrompt.Body!["error"]!["param"]);
        Assert.Equal((HttpStatusCode.BadRequest, "prompt"), (lone.Status, (string?)lone.Body!["error"]!["param"]));
        Assert.Equal(HttpStatusCode.BadRequest, loneChat.Status);
        Assert.Equal(HttpStatusCode.NotFound, otherModel.Status);
        Assert.Equal("", (string?)sameModel.Body!["prompt"]);
    }
}
