using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Ponder.Policy;
using Ponder.Serving;

namespace Ponder.Tests.Serving;

/// <summary>The wire protocol with a plain HttpClient: choices, seeds, stops, usage and server-sent events.</summary>
public sealed class ProtocolTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private Task<(HttpStatusCode Status, JsonNode? Body)> Post(string path, string json, bool endless = false) =>
        ServerFixture.PostAsync(fixture.Http, endless ? fixture.Endless : fixture.Server, path, json);

    private static string[] Texts(JsonNode body, bool chat = true) =>
        body["choices"]!.AsArray().Select(c => (string)(chat ? c!["message"]!["content"]! : c!["text"]!)!).ToArray();

    [Fact]
    public async Task Models_lists_the_served_model()
    {
        var (status, body) = await ServerFixture.SendAsync(fixture.Http, fixture.Server, HttpMethod.Get, "models", null);
        var (one, model) = await ServerFixture.SendAsync(fixture.Http, fixture.Server, HttpMethod.Get, "models/tiny", null);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("list", (string)body!["object"]!);
        Assert.Equal("tiny", (string)body["data"]![0]!["id"]!);
        Assert.Equal(HttpStatusCode.OK, one);
        Assert.Equal("model", (string)model!["object"]!);
    }

    [Fact]
    public async Task N_choices_are_the_n_samples_the_local_policy_draws_with_the_same_seed()
    {
        var (status, body) = await Post("chat/completions", ServerFixture.Chat("\"n\": 5, \"temperature\": 1, \"seed\": 11, \"max_tokens\": 30"));

        var expected = fixture.Reference(5, new SamplingOptions { Temperature = 1, MaxNewTokens = 30, Seed = 11 });
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("chat.completion", (string)body!["object"]!);
        Assert.Equal([0, 1, 2, 3, 4], body["choices"]!.AsArray().Select(c => (int)c!["index"]!));
        Assert.Equal(expected.Select(e => e.Text), Texts(body));
        Assert.True(expected.Select(e => e.Text).Distinct().Count() > 1, "samples at temperature 1 should differ");
        Assert.Equal(expected.Sum(e => e.Tokens!.Value), (int)body["usage"]!["completion_tokens"]!);
        Assert.Equal(1 + ServerFixture.Prompt.Length, (int)body["usage"]!["prompt_tokens"]!);
    }

    [Fact]
    public async Task Same_seed_gives_the_same_text_and_another_seed_another()
    {
        string Request(int seed) => ServerFixture.Chat($"\"n\": 4, \"temperature\": 1, \"seed\": {seed}, \"max_tokens\": 40");

        var first = await Post("chat/completions", Request(3), endless: true);
        var again = await Post("chat/completions", Request(3), endless: true);
        var other = await Post("chat/completions", Request(4), endless: true);

        Assert.Equal(Texts(first.Body!), Texts(again.Body!));
        Assert.NotEqual(Texts(first.Body!), Texts(other.Body!));
    }

    [Fact]
    public async Task Stop_string_spanning_decode_pieces_ends_the_text_before_it()
    {
        // Greedy text of the endless policy is "#4\n#4\n#4\n..."; "\n#4\n#4\n" first ends at character 9, past the first 8-token piece
        var (_, single) = await Post("chat/completions", ServerFixture.Chat("\"temperature\": 0, \"max_tokens\": 60, \"stop\": \"\\n#4\\n#4\\n\""), endless: true);
        var (_, list) = await Post("completions", $$"""{"model": "tiny", "prompt": "{{TinyServedModel.Problem}}\n", "temperature": 0, "max_tokens": 60, "stop": ["9", "4\n#"]}""", endless: true);

        Assert.Equal("#4", Texts(single!).Single());
        Assert.Equal("stop", (string)single!["choices"]![0]!["finish_reason"]!);
        Assert.Equal(9, (int)single["usage"]!["completion_tokens"]!);         // the stop string's tokens were generated
        Assert.Equal("#", Texts(list!, chat: false).Single());
        Assert.Equal("text_completion", (string)list!["object"]!);
    }

    [Fact]
    public async Task Max_tokens_and_max_completion_tokens_cut_the_text_with_finish_reason_length()
    {
        var (_, a) = await Post("chat/completions", ServerFixture.Chat("\"temperature\": 0, \"max_tokens\": 5"), endless: true);
        var (_, b) = await Post("chat/completions", ServerFixture.Chat("\"temperature\": 0, \"max_completion_tokens\": 7"), endless: true);

        Assert.Equal("#4\n#4", Texts(a!).Single());
        Assert.Equal("length", (string)a!["choices"]![0]!["finish_reason"]!);
        Assert.Equal(7, (int)b!["usage"]!["completion_tokens"]!);
    }

    [Fact]
    public async Task Reasoning_effort_levels_run_their_searches_and_report_what_they_spent_as_reasoning_tokens()
    {
        var low = (await Post("chat/completions", ServerFixture.Chat("\"reasoning_effort\": \"low\", \"seed\": 2, \"max_tokens\": 30"))).Body!;
        var high = (await Post("chat/completions", ServerFixture.Chat("\"reasoning_effort\": \"high\", \"seed\": 2, \"max_tokens\": 30, \"n\": 2"))).Body!;

        // low: one greedy solution, nothing spent beyond it
        Assert.Equal("#4", Texts(low).Single());
        Assert.Equal(0, (int)low["usage"]!["completion_tokens_details"]!["reasoning_tokens"]!);
        // high: best-of-32 majority per choice (the first choice with the request's seed, the second with a derived one)
        var search = fixture.Search("best-of-n:32@1", 2, 30);
        Assert.Equal(search.Completion, Texts(high)[0]);
        Assert.Equal(fixture.Search("best-of-n:32@1", Seeds.Mix(2, 1), 30).Completion, Texts(high)[1]);
        int completion = (int)high["usage"]!["completion_tokens"]!, reasoning = (int)high["usage"]!["completion_tokens_details"]!["reasoning_tokens"]!;
        Assert.True(completion > search.Compute.GeneratedTokens, "two choices cost two searches");
        Assert.Equal(completion - Texts(high).Sum(t => t.Length + 1), reasoning);  // char tokens, plus each answer's EOS
    }

    [Fact]
    public async Task Stream_sends_role_deltas_finish_usage_chunk_and_done()
    {
        string json = ServerFixture.Chat("\"stream\": true, \"stream_options\": {\"include_usage\": true}, \"n\": 2, \"temperature\": 1, \"seed\": 9, \"max_tokens\": 24");
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await fixture.Http.PostAsync(new Uri(fixture.Endless.BaseAddress, "chat/completions"), content);
        string text = await response.Content.ReadAsStringAsync();

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(e => e.StartsWith("data: ", StringComparison.Ordinal) ? e[6..] : throw new InvalidDataException(e)).ToList();
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonNode.Parse(e)!).ToList();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", (string)c["object"]!));
        var usage = chunks[^1];
        Assert.Empty(usage["choices"]!.AsArray());
        Assert.Equal(48, (int)usage["usage"]!["completion_tokens"]!);
        var expected = fixture.Reference(2, new SamplingOptions { Temperature = 1, MaxNewTokens = 24, Seed = 9 }, endless: true);
        for (int i = 0; i < 2; i++)
        {
            var mine = chunks[..^1].Select(c => c["choices"]![0]!).Where(c => (int)c["index"]! == i).ToList();
            Assert.Equal("assistant", (string)mine[0]["delta"]!["role"]!);
            Assert.Equal(expected[i].Text, string.Concat(mine.Select(c => (string?)c["delta"]!["content"] ?? "")));
            Assert.Equal("length", (string)mine[^1]["finish_reason"]!);
            Assert.True(mine.Count >= 4, "role, several pieces, finish");
        }
    }

    [Fact]
    public async Task Streamed_reasoning_sends_the_voted_answer_and_its_reasoning_tokens()
    {
        string effort = "\"reasoning_effort\": \"medium\", \"seed\": 5, \"max_tokens\": 30";
        var (_, whole) = await Post("chat/completions", ServerFixture.Chat(effort));
        using var content = new StringContent(ServerFixture.Chat(effort + ", \"stream\": true, \"stream_options\": {\"include_usage\": true}"), Encoding.UTF8, "application/json");
        using var response = await fixture.Http.PostAsync(new Uri(fixture.Server.BaseAddress, "chat/completions"), content);
        var events = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(e => e[6..]).ToList();

        var chunks = events[..^1].Select(e => JsonNode.Parse(e)!).ToList();
        string streamed = string.Concat(chunks.Where(c => c["choices"]!.AsArray().Count > 0).Select(c => (string?)c["choices"]![0]!["delta"]!["content"] ?? ""));
        Assert.Equal(Texts(whole!).Single(), streamed);
        Assert.Equal((int)whole!["usage"]!["completion_tokens_details"]!["reasoning_tokens"]!, (int)chunks[^1]["usage"]!["completion_tokens_details"]!["reasoning_tokens"]!);
        Assert.True((int)chunks[^1]["usage"]!["completion_tokens_details"]!["reasoning_tokens"]! > 0);
    }

    [Fact]
    public async Task Completions_stream_without_usage_option_has_no_usage_chunk()
    {
        string json = $$"""{"model": "tiny", "prompt": "{{TinyServedModel.Problem}}\n", "stream": true, "temperature": 0, "max_tokens": 10}""";
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await fixture.Http.PostAsync(new Uri(fixture.Endless.BaseAddress, "completions"), content);
        var events = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(e => e[6..]).ToList();

        Assert.Equal("[DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonNode.Parse(e)!).ToList();
        Assert.All(chunks, c => Assert.Null(c["usage"]));
        Assert.Equal("#4\n#4\n#4\n#", string.Concat(chunks.Select(c => (string)c["choices"]![0]!["text"]!)));
    }
}
