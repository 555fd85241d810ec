using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Ponder.Policy;
using Ponder.Serving;
using Ponder.Tasks;
using Generator = Ponder.Policy.Generator;

namespace Ponder.Bench;

/// <summary>
/// The server under concurrent clients, as vLLM's serving benchmark and llama.cpp's server with several slots are
/// measured: C clients each send /v1/completions requests one after another (a held-out problem, sampled at
/// temperature 1, up to 128 tokens, ending at EOS) for a fixed time, against a server that decodes one row at a time
/// (<c>--max-batch 1</c>: one request after another, as Ponder's server did before continuous batching) and one that
/// batches every request in flight (<c>--max-batch 64</c>). Beside them, without HTTP, the decoder kept at C requests
/// against static batches of C prompts, the best a batch of C does. All measured in one run. Generated tokens/s,
/// requests/s and mean latency per request.
/// </summary>
internal static class ServeBench
{
    public static void Run(Transformer model, ITokenizer tokenizer, ITask task, int[] clients, double seconds)
    {
        var prompts = task.Problems(Split.Test, 512, 0).Select(p => p.Prompt).ToArray();
        Console.WriteLine();
        Console.WriteLine($"Serving: C clients, each sending /v1/completions requests back to back for {seconds:F0} s (temperature 1, max_tokens 128, ending at EOS),");
        Console.WriteLine("the load generator in the same process; and the decoder alone, kept at C single-row requests, against static batches of C prompts");
        Console.WriteLine("(Generator.Generate: each batch runs until its last row ends). Tokens/s of generated tokens.");
        Console.WriteLine("| C | static batches, no HTTP | continuous batching, no HTTP | served one row at a time (req/s, mean latency) | served with continuous batching (req/s, mean latency, mean rows a step) | served ratio |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (var c in clients)
        {
            var fixedBatch = StaticBatches(model, tokenizer, prompts, c, seconds);
            var engine = EngineAlone(model, tokenizer, prompts, c, seconds);
            var one = Measure(model, tokenizer, prompts, c, maxBatch: 1, seconds).GetAwaiter().GetResult();
            var batched = Measure(model, tokenizer, prompts, c, maxBatch: 64, seconds).GetAwaiter().GetResult();
            Console.WriteLine($"| {c} | {fixedBatch:N0} | {engine:N0} | {one.TokensPerSecond:N0} ({one.RequestsPerSecond:N0}/s, {one.MeanLatencyMs:N0} ms) | "
                + $"{batched.TokensPerSecond:N0} ({batched.RequestsPerSecond:N0}/s, {batched.MeanLatencyMs:N0} ms, {batched.MeanRows:F1}) | {batched.TokensPerSecond / one.TokensPerSecond:F2}× |");
        }
    }

    // The decoder alone, kept at `rows` single-row requests (a new one as soon as one ends): tokens/s and steps.
    private static double EngineAlone(Transformer model, ITokenizer tokenizer, string[] prompts, int rows, double seconds)
    {
        var generator = new Generator(model, tokenizer);
        using var decoder = new BatchDecoder(generator, 64);
        var inFlight = new List<BatchDecoder.Request>();
        long tokens = 0;
        var k = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            while (inFlight.Count < rows)
                inFlight.Add(decoder.Add(Ponder.Policy.Prompting.Encode(tokenizer, prompts[k % prompts.Length]), 1,
                    new SamplingOptions { Temperature = 1, MaxNewTokens = 128, Seed = k++ }));
            decoder.Step();
            foreach (var done in inFlight.Where(r => r.Done.IsCompletedSuccessfully).ToArray())
            {
                tokens += done.Done.Result[0].Tokens.Length;
                inFlight.Remove(done);
            }
        }
        return tokens / clock.Elapsed.TotalSeconds;
    }

    // Generator.Generate on batches of `rows` prompts one after another (each batch runs until its last row ends).
    private static double StaticBatches(Transformer model, ITokenizer tokenizer, string[] prompts, int rows, double seconds)
    {
        var generator = new Generator(model, tokenizer);
        long tokens = 0;
        var k = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            var batch = Enumerable.Range(k, rows).Select(i => Ponder.Policy.Prompting.Encode(tokenizer, prompts[i % prompts.Length])).ToList();
            tokens += generator.Generate(batch, new SamplingOptions { Temperature = 1, MaxNewTokens = 128, Seed = k }).Sum(g => g.Tokens.Length);
            k += rows;
        }
        return tokens / clock.Elapsed.TotalSeconds;
    }

    private static async Task<(double TokensPerSecond, double RequestsPerSecond, double MeanLatencyMs, double MeanRows)> Measure(Transformer model, ITokenizer tokenizer,
        string[] prompts, int clients, int maxBatch, double seconds)
    {
        var policy = new LocalPolicy(new Generator(model, tokenizer), maxBatch);
        await using var server = await PonderServer.StartAsync(policy, new ServerOptions { Port = 0, ModelName = "bench", MaxQueue = 4096 });
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(10) };
        var endpoint = new Uri(server.BaseAddress, "completions");
        Task<int> Complete(int k) => BenchRequest.CompleteAsync(http, endpoint, prompts[k % prompts.Length], 128, k);
        await Complete(0);                                                                  // warm-up
        long tokens = 0, requests = 0, latencyTicks = 0;
        var clock = Stopwatch.StartNew();
        var until = TimeSpan.FromSeconds(seconds);
        await Task.WhenAll(Enumerable.Range(0, clients).Select(async client =>
        {
            for (var k = client + 1; clock.Elapsed < until; k += clients)
            {
                var start = clock.ElapsedTicks;
                var n = await Complete(k);
                Interlocked.Add(ref tokens, n);
                Interlocked.Increment(ref requests);
                Interlocked.Add(ref latencyTicks, clock.ElapsedTicks - start);
            }
        }));
        var elapsed = clock.Elapsed.TotalSeconds;
        return (tokens / elapsed, requests / elapsed, latencyTicks * 1000.0 / Stopwatch.Frequency / requests, server.Queue.MeanBatchRows);
    }
}

/// <summary>One non-streamed /v1/completions request of the serving benchmarks.</summary>
internal static class BenchRequest
{
    /// <summary>Completion tokens of <paramref name="prompt"/> sampled at temperature 1 (a search with <paramref name="effort"/>).</summary>
    public static async Task<int> CompleteAsync(HttpClient http, Uri endpoint, string prompt, int maxTokens, int seed, string? effort = null)
    {
        var body = new JsonObject { ["model"] = "bench", ["prompt"] = prompt, ["max_tokens"] = maxTokens, ["temperature"] = 1, ["seed"] = seed };
        if (effort is not null) body["reasoning_effort"] = effort;
        using var response = await http.PostAsJsonAsync(endpoint, body);
        response.EnsureSuccessStatusCode();
        var answer = await response.Content.ReadFromJsonAsync<JsonObject>();
        return (int)answer!["usage"]!["completion_tokens"]!;
    }
}
