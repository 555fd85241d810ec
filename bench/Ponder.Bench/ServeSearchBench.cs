using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Ponder.Policy;
using Ponder.Serving;
using Ponder.Tasks;
using Generator = Ponder.Policy.Generator;

namespace Ponder.Bench;

/// <summary>
/// Searches and plain requests on one server: C clients send plain /v1/completions requests back to back (a held-out
/// problem, temperature 1, up to 128 tokens) while one more client sends <c>reasoning_effort: high</c> requests back to
/// back (the default plan: best-of-32 with a majority vote). Two schedules, alternated over rounds in one run: searches
/// on the batch's worker between two of its steps, the batch waiting for each whole search (as the server ran them
/// before), and searches beside the batch, the two taking turns at the model a step at a time (the default). Plain
/// requests' tokens/s and latency (mean, 95th percentile), searches' rate and latency.
/// </summary>
internal static class ServeSearchBench
{
    private sealed record Round(double PlainTokensPerSecond, double PlainMeanMs, double PlainP95Ms, double SearchesPerSecond, double SearchMeanMs);

    public static void Run(Transformer model, ITokenizer tokenizer, ITask task, int clients, double seconds, int rounds)
    {
        var prompts = task.Problems(Split.Test, 512, 0).Select(p => p.Prompt).ToArray();
        var results = new Dictionary<bool, List<Round>> { [false] = [], [true] = [] };
        for (var round = 0; round < rounds; round++)
            foreach (var beside in round % 2 == 0 ? new[] { false, true } : [true, false])
                results[beside].Add(Measure(model, tokenizer, prompts, clients, seconds, beside).GetAwaiter().GetResult());

        Console.WriteLine();
        Console.WriteLine($"Searches beside plain requests: {clients} clients send plain /v1/completions requests back to back (temperature 1, max_tokens 128),");
        Console.WriteLine($"one more sends reasoning_effort=high requests back to back (best-of-32, majority vote); {rounds} rounds of {seconds:F0} s a schedule, alternated; means over rounds.");
        Console.WriteLine("| searches run | plain tokens/s | plain mean latency | plain 95th percentile | searches/s | search mean latency |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (var beside in new[] { false, true })
        {
            var r = results[beside];
            Console.WriteLine($"| {(beside ? "beside the batch, turns a step at a time (default)" : "on the batch's worker, alone between its steps")} | {r.Average(x => x.PlainTokensPerSecond):N0} | "
                + $"{r.Average(x => x.PlainMeanMs):N0} ms | {r.Average(x => x.PlainP95Ms):N0} ms | {r.Average(x => x.SearchesPerSecond):F2} | {r.Average(x => x.SearchMeanMs):N0} ms |");
        }
        double Ratio(Func<Round, double> f) => results[true].Average(f) / results[false].Average(f);
        Console.WriteLine($"| beside / alone | {Ratio(x => x.PlainTokensPerSecond):F2}× | {Ratio(x => x.PlainMeanMs):F2}× | {Ratio(x => x.PlainP95Ms):F2}× | {Ratio(x => x.SearchesPerSecond):F2}× | {Ratio(x => x.SearchMeanMs):F2}× |");
    }

    private static async Task<Round> Measure(Transformer model, ITokenizer tokenizer, string[] prompts, int clients, double seconds, bool beside)
    {
        var policy = new LocalPolicy(new Generator(model, tokenizer), 64);
        await using var server = await PonderServer.StartAsync(policy, new ServerOptions { Port = 0, ModelName = "bench", MaxQueue = 4096, SearchesBeside = beside });
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(10) };
        var endpoint = new Uri(server.BaseAddress, "completions");
        Task<int> Complete(int k, bool search) => BenchRequest.CompleteAsync(http, endpoint, prompts[k % prompts.Length], 128, k, search ? "high" : null);
        await Complete(0, search: false);                                                     // warm-up
        await Complete(0, search: true);
        long tokens = 0, searches = 0, searchTicks = 0;
        var latencies = new List<double>();
        var clock = Stopwatch.StartNew();
        var until = TimeSpan.FromSeconds(seconds);
        var plain = Enumerable.Range(0, clients).Select(async client =>
        {
            for (var k = client + 1; clock.Elapsed < until; k += clients)
            {
                var start = clock.Elapsed;
                var n = await Complete(k, search: false);
                Interlocked.Add(ref tokens, n);
                lock (latencies) latencies.Add((clock.Elapsed - start).TotalMilliseconds);
            }
        });
        var searching = Task.Run(async () =>
        {
            for (var k = 1; clock.Elapsed < until; k++)
            {
                var start = clock.ElapsedTicks;
                await Complete(10_000 + k, search: true);
                searches++;
                searchTicks += clock.ElapsedTicks - start;
            }
        });
        await Task.WhenAll([.. plain, searching]);
        var elapsed = clock.Elapsed.TotalSeconds;
        latencies.Sort();
        if (latencies.Count == 0) latencies.Add(double.NaN);                               // no plain request ended in time
        return new Round(tokens / elapsed, latencies.Average(), latencies[(int)(0.95 * (latencies.Count - 1))], searches / elapsed,
            searches == 0 ? double.NaN : searchTicks * 1000.0 / Stopwatch.Frequency / searches);
    }
}
