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
    public async Task Vllms_stop_token_ids_include_stop_str_in_output_and_ignore_eos_act_as_in_vllm()
    {
        // Greedy text of the endless policy is "#4\n#4\n..."; the ordinary policy ends with EOS after its answer
        int newline = new CharTokenizer().Encode("\n")[0];
        var (_, ids) = await Post("chat/completions", ServerFixture.Chat($"\"temperature\": 0, \"max_tokens\": 30, \"stop_token_ids\": [{newline}]"), endless: true);
        var (_, kept) = await Post("chat/completions", ServerFixture.Chat("\"temperature\": 0, \"max_tokens\": 30, \"stop\": \"\\n#\", \"include_stop_str_in_output\": true"), endless: true);
        var (_, plain) = await Post("chat/completions", ServerFixture.Chat("\"temperature\": 0, \"max_tokens\": 40"));
        var (_, past) = await Post("chat/completions", ServerFixture.Chat("\"temperature\": 0, \"max_tokens\": 40, \"ignore_eos\": true"));

        Assert.Equal("#4\n", Texts(ids!).Single());                                   // the stop token is generated text, as vLLM returns it
        Assert.Equal("stop", (string)ids!["choices"]![0]!["finish_reason"]!);
        Assert.Equal("#4\n#", Texts(kept!).Single());
        Assert.Equal("stop", (string)plain!["choices"]![0]!["finish_reason"]!);
        Assert.True((int)plain["usage"]!["completion_tokens"]! < 40);
        Assert.Equal(("length", 40), ((string)past!["choices"]![0]!["finish_reason"]!, (int)past["usage"]!["completion_tokens"]!));
        Assert.StartsWith(Texts(plain).Single(), Texts(past).Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Top_p_0_is_greedy_and_top_k_minus_1_is_off()
    {
        var (_, greedy) = await Post("chat/completions", ServerFixture.Chat("\"temperature\": 0, \"max_tokens\": 20, \"n\": 2"));
        var (_, topP) = await Post("chat/completions", ServerFixture.Chat("\"temperature\": 1, \"top_p\": 0, \"max_tokens\": 20, \"n\": 2"));
        var (_, sampled) = await Post("chat/completions", ServerFixture.Chat("\"temperature\": 1, \"seed\": 5, \"max_tokens\": 20, \"n\": 3"));
        var (status, topK) = await Post("chat/completions", ServerFixture.Chat("\"temperature\": 1, \"seed\": 5, \"top_k\": -1, \"max_tokens\": 20, \"n\": 3"));

        Assert.Equal(Texts(greedy!), Texts(topP!));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(Texts(sampled!), Texts(topK!));
    }

    [Fact]
    public async Task A_browsers_preflight_is_answered_without_a_key_and_every_answer_allows_any_origin()
    {
        using var preflight = new HttpRequestMessage(HttpMethod.Options, new Uri(fixture.Server.BaseAddress, "chat/completions"));
        preflight.Headers.Add("Origin", "http://localhost:3000");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "authorization, content-type");
        using var answer = await fixture.Http.SendAsync(preflight);
        using var post = await fixture.Http.PostAsync(new Uri(fixture.Server.BaseAddress, "chat/completions"),
            new StringContent(ServerFixture.Chat("\"max_tokens\": 5"), Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.NoContent, answer.StatusCode);
        Assert.Equal("*", answer.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Contains("POST", answer.Headers.GetValues("Access-Control-Allow-Methods").Single());
        Assert.Equal("authorization, content-type", answer.Headers.GetValues("Access-Control-Allow-Headers").Single());
        Assert.Equal(HttpStatusCode.OK, post.StatusCode);
        Assert.Equal("*", post.Headers.GetValues("Access-Control-Allow-Origin").Single());
    }

    [Fact]
    public async Task A_model_id_with_a_slash_is_looked_up_not_refused_as_a_method()
    {
        var (status, body) = await ServerFixture.SendAsync(fixture.Http, fixture.Server, HttpMethod.Get, "models/Qwen/Qwen2.5-0.5B-Instruct", null);

        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("model_not_found", (string)body!["error"]!["code"]!);
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

    [Fact]
    public async Task Chat_logprobs_are_the_returned_tokens_model_log_probabilities_with_the_most_likely_alternatives()
    {
        // Given a sampled chat answer cut by a stop string, asked with its log-probabilities and three alternatives
        var (status, body) = await Post("chat/completions", ServerFixture.Chat("\"temperature\": 1, \"seed\": 5, \"max_tokens\": 30, \"stop\": \"\\n#9\", \"logprobs\": true, \"top_logprobs\": 3"), endless: true);
        var expected = fixture.Reference(1, new SamplingOptions { Temperature = 1, MaxNewTokens = 30, Seed = 5, Stop = ["\n#9"] }, endless: true, logProbs: 3)[0];

        // Then each token of the returned text comes with the local policy's log-probability and top three, most likely first
        Assert.Equal(HttpStatusCode.OK, status);
        var choice = body!["choices"]![0]!;
        var content = choice["logprobs"]!["content"]!.AsArray();
        Assert.Equal((string)choice["message"]!["content"]!, string.Concat(content.Select(t => (string)t!["token"]!)));
        Assert.Equal(expected.LogProbs!.Count, content.Count);
        for (var t = 0; t < content.Count; t++)
        {
            Assert.Equal(expected.LogProbs[t].LogProb, (float)content[t]!["logprob"]!);
            var top = content[t]!["top_logprobs"]!.AsArray();
            Assert.Equal(expected.LogProbs[t].Top.Select(x => x.Text), top.Select(x => (string)x!["token"]!));
            Assert.Equal(3, top.Count);
            Assert.True((float)top[0]!["logprob"]! >= (float)top[1]!["logprob"]! && (float)top[1]!["logprob"]! >= (float)top[2]!["logprob"]!);
            Assert.True((float)content[t]!["logprob"]! <= (float)top[0]!["logprob"]! && (float)top[0]!["logprob"]! <= 0);
            Assert.Equal(Encoding.UTF8.GetBytes((string)content[t]!["token"]!), content[t]!["bytes"]!.AsArray().Select(b => (byte)(int)b!));
        }
        // and the model's distribution after a newline: '#' most likely (the tiny policy's bigram table)
        var afterNewline = content.Select((t, k) => (t, k)).First(x => (string)x.t!["token"]! == "\n").k + 1;
        Assert.Equal("#", (string)content[afterNewline]!["top_logprobs"]![0]!["token"]!);
    }

    [Fact]
    public async Task Completions_logprobs_use_the_legacy_lists_and_a_stream_sends_the_same()
    {
        string Body(bool stream) => $$"""{"model": "tiny", "prompt": "{{TinyServedModel.Problem}}\n", "temperature": 1, "seed": 8, "max_tokens": 30, "logprobs": 2, "stream": {{(stream ? "true" : "false")}}}""";
        var (_, body) = await Post("completions", Body(stream: false), endless: true);
        var expected = fixture.Reference(1, new SamplingOptions { Temperature = 1, MaxNewTokens = 30, Seed = 8 }, endless: true, logProbs: 2)[0];

        var logprobs = body!["choices"]![0]!["logprobs"]!;
        var tokens = logprobs["tokens"]!.AsArray().Select(t => (string)t!).ToArray();
        Assert.Equal((string)body["choices"]![0]!["text"]!, string.Concat(tokens));
        Assert.Equal(expected.LogProbs!.Select(t => t.LogProb!.Value), logprobs["token_logprobs"]!.AsArray().Select(l => (float)l!));
        Assert.Equal(expected.LogProbs!.Select(t => t.Offset), logprobs["text_offset"]!.AsArray().Select(o => (int)o!));
        var tops = logprobs["top_logprobs"]!.AsArray();
        Assert.All(tops, top => Assert.InRange(top!.AsObject().Count, 1, 3));                     // the two most likely and the sampled one
        for (var t = 0; t < tokens.Length; t++) Assert.Equal(expected.LogProbs![t].LogProb, (float)tops[t]![tokens[t]]!);

        // The same request streamed: each delta's text is whole tokens, with their log-probabilities, and the deltas'
        // lists put together are the whole response's
        using var content = new StringContent(Body(stream: true), Encoding.UTF8, "application/json");
        using var response = await fixture.Http.PostAsync(new Uri(fixture.Endless.BaseAddress, "completions"), content);
        var chunks = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .Select(e => e[6..]).Where(e => e != "[DONE]").Select(e => JsonNode.Parse(e)!["choices"]![0]!).ToList();
        var withLogprobs = chunks.Where(c => c["logprobs"] is not null).ToList();
        Assert.True(withLogprobs.Count >= 3, $"{withLogprobs.Count} deltas with log-probabilities");
        Assert.All(withLogprobs, c => Assert.Equal((string)c["text"]!, string.Concat(c["logprobs"]!["tokens"]!.AsArray().Select(t => (string)t!))));
        foreach (var list in new[] { "tokens", "token_logprobs", "top_logprobs", "text_offset" })
            Assert.Equal(logprobs[list]!.AsArray().Select(x => x!.ToJsonString()), withLogprobs.SelectMany(c => c["logprobs"]![list]!.AsArray()).Select(x => x!.ToJsonString()));
        Assert.Equal((string)body["choices"]![0]!["text"]!, string.Concat(chunks.Select(c => (string)c["text"]!)));
    }

    [Fact]
    public async Task Mixed_concurrent_requests_each_get_their_own_answer_while_sharing_the_model()
    {
        // Given plain, streamed, log-probability and searching requests, and one whose client leaves after 20 ms, all at once
        using var leave = new CancellationTokenSource();
        var plain = Enumerable.Range(0, 8).Select(seed => Post("chat/completions", ServerFixture.Chat($"\"n\": 2, \"temperature\": 1, \"seed\": {seed}, \"max_tokens\": 40"), endless: true)).ToArray();
        var streamed = Enumerable.Range(0, 3).Select(seed => Stream(ServerFixture.Chat($"\"stream\": true, \"temperature\": 1, \"seed\": {100 + seed}, \"max_tokens\": 33"))).ToArray();
        var logprobs = Enumerable.Range(0, 3).Select(seed => Post("chat/completions", ServerFixture.Chat($"\"temperature\": 1, \"seed\": {200 + seed}, \"max_tokens\": 20, \"logprobs\": true, \"top_logprobs\": 2"), endless: true)).ToArray();
        var searches = Enumerable.Range(0, 2).Select(seed => Post("chat/completions", ServerFixture.Chat($"\"reasoning_effort\": \"medium\", \"seed\": {300 + seed}, \"max_tokens\": 30"), endless: true)).ToArray();
        using var body = new StringContent(ServerFixture.Chat("\"max_tokens\": 120, \"seed\": 9"), Encoding.UTF8, "application/json");
        var leaving = fixture.Http.PostAsync(new Uri(fixture.Endless.BaseAddress, "chat/completions"), body, leave.Token);
        leave.CancelAfter(20);

        // Then each answer is what the local policy or search gives that request alone
        for (var seed = 0; seed < 8; seed++)
            Assert.Equal(fixture.Reference(2, new SamplingOptions { Temperature = 1, MaxNewTokens = 40, Seed = seed }, endless: true).Select(c => c.Text), Texts((await plain[seed]).Body!));
        for (var seed = 0; seed < 3; seed++)
            Assert.Equal(fixture.Reference(1, new SamplingOptions { Temperature = 1, MaxNewTokens = 33, Seed = 100 + seed }, endless: true)[0].Text, await streamed[seed]);
        for (var seed = 0; seed < 3; seed++)
        {
            var expected = fixture.Reference(1, new SamplingOptions { Temperature = 1, MaxNewTokens = 20, Seed = 200 + seed }, endless: true, logProbs: 2)[0];
            var content = (await logprobs[seed]).Body!["choices"]![0]!["logprobs"]!["content"]!.AsArray();
            Assert.Equal(expected.LogProbs!.Select(t => t.LogProb!.Value), content.Select(t => (float)t!["logprob"]!));
        }
        for (var seed = 0; seed < 2; seed++)
            Assert.Equal(fixture.Search("best-of-n:8@1", 300 + seed, 30, endless: true).Completion, Texts((await searches[seed]).Body!).Single());
        try
        {
            (await leaving).Dispose();                                   // it may have finished before its client left
        }
        catch (OperationCanceledException)
        {
        }
    }

    [Fact]
    public async Task Completions_take_several_prompts_as_text_or_token_ids_and_answer_prompt_after_prompt()
    {
        // Given two prompts with two choices each, asked once as the token ids they encode to and once as text
        var policy = fixture.LocalEndless;
        string first = $"{TinyServedModel.Problem}\n", second = "12 +3\n";
        var ids = string.Join(", ", policy.Encode(first));
        var (status, body) = await Post("completions", $$"""{"model": "tiny", "prompt": [[{{ids}}], [{{string.Join(", ", policy.Encode(second))}}]], "n": 2, "temperature": 1, "seed": 4, "max_tokens": 12}""", endless: true);
        var (_, texts) = await Post("completions", $$"""{"model": "tiny", "prompt": ["{{TinyServedModel.Problem}}\n", "12 +3\n"], "n": 2, "temperature": 1, "seed": 4, "max_tokens": 12}""", endless: true);

        // Then the choices are each prompt's n samples in order (index p·n + j), the same from ids as from text
        Assert.Equal(HttpStatusCode.OK, status);
        var options = new SamplingOptions { Temperature = 1, MaxNewTokens = 12, Seed = 4 };
        var expected = policy.Generate(policy.Encode(first), 2, options).Concat(policy.Generate(policy.Encode(second), 2, options)).Select(g => g.Text).ToArray();
        Assert.Equal(expected, Texts(body!, chat: false));
        Assert.Equal(expected, Texts(texts!, chat: false));
        Assert.Equal([0, 1, 2, 3], body!["choices"]!.AsArray().Select(c => (int)c!["index"]!));
        Assert.Equal(policy.Encode(first).Length + policy.Encode(second).Length, (int)body["usage"]!["prompt_tokens"]!);

        // and streamed, each choice's deltas carry its index
        using var content = new StringContent($$"""{"model": "tiny", "prompt": ["{{TinyServedModel.Problem}}\n", "12 +3\n"], "n": 2, "temperature": 1, "seed": 4, "max_tokens": 12, "stream": true}""", Encoding.UTF8, "application/json");
        using var response = await fixture.Http.PostAsync(new Uri(fixture.Endless.BaseAddress, "completions"), content);
        var chunks = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(e => e[6..])
            .Where(e => e != "[DONE]").Select(e => JsonNode.Parse(e)!["choices"]![0]!).ToList();
        for (var c = 0; c < 4; c++)
            Assert.Equal(expected[c], string.Concat(chunks.Where(x => (int)x["index"]! == c).Select(x => (string)x["text"]!)));
    }

    [Fact]
    public async Task Prompts_of_one_request_sample_independently_without_a_seed_and_alike_with_one()
    {
        // Given four copies of one prompt, sampled at temperature 1 (vLLM's way of asking for pass@k)
        string prompt = $"\"{TinyServedModel.Problem}\\n\"";
        string prompts = $"[{prompt}, {prompt}, {prompt}, {prompt}]";
        var (status, unseeded) = await Post("completions", $$"""{"model": "tiny", "prompt": {{prompts}}, "temperature": 1, "max_tokens": 12}""", endless: true);
        var (_, seeded) = await Post("completions", $$"""{"model": "tiny", "prompt": {{prompts}}, "temperature": 1, "max_tokens": 12, "seed": 9}""", endless: true);

        // Then without a seed each prompt draws its own sample; with one, every prompt samples with it (as vLLM's requests do)
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(4, Texts(unseeded!, chat: false).Distinct().Count());
        Assert.Single(Texts(seeded!, chat: false).Distinct());
    }

    [Fact]
    public async Task Echo_returns_the_prompt_scored_token_by_token_before_the_completion()
    {
        // Given a prompt scored alone (max_tokens 0), and the same prompt echoed before a completion
        var policy = fixture.LocalEndless;
        string prompt = $"{TinyServedModel.Problem}\n";
        var (status, scored) = await Post("completions", $$"""{"model": "tiny", "prompt": "{{TinyServedModel.Problem}}\n", "echo": true, "logprobs": 1, "max_tokens": 0}""", endless: true);
        var (_, echoed) = await Post("completions", $$"""{"model": "tiny", "prompt": "{{TinyServedModel.Problem}}\n", "echo": true, "logprobs": 1, "max_tokens": 6, "temperature": 1, "seed": 3}""", endless: true);

        // Then the scored text is the prompt; its first token has no log-probability and every other one is the model's
        // log-probability of that token after the ones before it (a full forward pass)
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(prompt, Texts(scored!, chat: false).Single());
        var logprobs = scored!["choices"]![0]!["logprobs"]!;
        var ids = policy.Encode(prompt);
        Assert.Equal(ids.Length, logprobs["tokens"]!.AsArray().Count);
        Assert.Null(logprobs["token_logprobs"]![0]);
        Assert.Null(logprobs["top_logprobs"]![0]);
        using (var noGrad = TorchSharp.torch.no_grad())
        {
            using var full = policy.Generator.Model.call(TorchSharp.torch.tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Length]))[0].log_softmax(-1);
            for (var t = 1; t < ids.Length; t++)
                Assert.Equal(full[t - 1, ids[t]].item<float>(), (float)logprobs["token_logprobs"]![t]!, 4);
        }
        Assert.Equal(Enumerable.Range(0, ids.Length).Select(t => Math.Max(0, t - 1)), logprobs["text_offset"]!.AsArray().Select(o => (int)o!));  // BOS is empty
        // and echoed before a completion, the text is prompt + the completion the same seed gives, the lists run on
        var expected = fixture.Reference(1, new SamplingOptions { Temperature = 1, MaxNewTokens = 6, Seed = 3 }, endless: true, logProbs: 1)[0];
        Assert.Equal(prompt + expected.Text, Texts(echoed!, chat: false).Single());
        var both = echoed!["choices"]![0]!["logprobs"]!;
        Assert.Equal(ids.Length + expected.LogProbs!.Count, both["tokens"]!.AsArray().Count);
        Assert.Equal(prompt.Length + expected.LogProbs[0].Offset, (int)both["text_offset"]![ids.Length]!);
    }

    // A streamed chat request's text deltas, concatenated.
    private async Task<string> Stream(string json)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await fixture.Http.PostAsync(new Uri(fixture.Endless.BaseAddress, "chat/completions"), content);
        var events = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(e => e[6..]).Where(e => e != "[DONE]");
        return string.Concat(events.Select(e => (string?)JsonNode.Parse(e)!["choices"]![0]!["delta"]!["content"] ?? ""));
    }
}
