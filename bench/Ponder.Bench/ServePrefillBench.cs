using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Ponder.Policy;
using Ponder.Serving;
using Ponder.Tasks;
using Generator = Ponder.Policy.Generator;

namespace Ponder.Bench;

/// <summary>
/// Long prompts beside streamed short requests: C clients stream short /v1/completions requests back to back (a
/// held-out problem, temperature 1, up to 64 tokens, a token an event) while one more client sends a prompt of
/// <c>longTokens</c> tokens (max_tokens 8) every second, to a model of the default shape with random weights and a
/// context long enough for them. Two settings, alternated over rounds in one run: every prompt prefilled in one go
/// (<c>--prefill-chunk 0</c>: a long prefill holds every row of the batch until it ends), and long prompts prefilled a
/// chunk a decode step (the default, 512 tokens; here <c>chunk</c>); or, comparing groups (with long prompts below the
/// chunk), prompts joining together all left-padded to the longest against prefilled in groups of similar length (the
/// default, <see cref="BatchDecoder.GroupsByLength"/>); or, comparing prefixes, no long client and every short prompt
/// starting with the same <c>longTokens</c> tokens (few-shot examples), the server keeping no prompt's keys against
/// keeping the last 8 (the default prefix cache). Short requests' gaps between streamed tokens (the
/// 99th percentile over all gaps, and the longest), their time to first token and tokens/s;
/// long requests' latency.
/// </summary>
internal static class ServePrefillBench
{
    private sealed record Round(double ShortTokensPerSecond, double GapP99Ms, double LongestGapMs, double FirstTokenMs, double LongMeanMs);

    public static void Run(ITokenizer tokenizer, Transformer model, ITask task, int clients, double seconds, int rounds, int longTokens, int chunk, string compare)
    {
        var groups = compare == "groups";
        var prefix = compare == "prefix";
        // The two settings: as before (every prompt in one go, all left-padded to the longest) against the default; or,
        // comparing groups, prompts prefilled whole in both, all padded to the longest against grouped by length.
        (string Name, int Chunk, bool Groups, int Prefixes)[] settings = groups
            ? [("every prompt padded to the longest joining with it", chunk, false, 8), ("grouped by length (default)", chunk, true, 8)]
            : prefix
            ? [("no prompt's keys kept (--prefix-cache 0)", chunk, true, 0), ("the last 8 prompts' keys kept (default)", chunk, true, 8)]
            : [("every prompt in one go (--prefill-chunk 0), padded to the longest", 0, false, 8), ($"long prompts {chunk} tokens a step (--prefill-chunk {chunk}, default)", chunk, true, 8)];
        var digits = new System.Text.StringBuilder();
        for (var i = 0; digits.Length < longTokens - 2; i++) digits.Append($"{i * 7919 % 1000} + ");
        var longPrompt = digits.ToString()[..(longTokens - 2)];
        var prompts = task.Problems(Split.Test, 512, 0).Select(p => prefix ? longPrompt + "\n" + p.Prompt : p.Prompt).ToArray();
        var results = settings.Select(_ => new List<Round>()).ToArray();
        for (var round = 0; round < rounds; round++)
            foreach (var i in round % 2 == 0 ? new[] { 0, 1 } : [1, 0])
            {
                BatchDecoder.GroupsByLength = settings[i].Groups;
                results[i].Add(Measure(model, tokenizer, prompts, prefix ? null : longPrompt, clients, seconds, settings[i].Chunk, settings[i].Prefixes).GetAwaiter().GetResult());
            }
        BatchDecoder.GroupsByLength = true;

        Console.WriteLine();
        Console.WriteLine($"Long prompts beside streamed short requests: {clients} clients stream short /v1/completions requests back to back (temperature 1, max_tokens 64, a token an event),");
        Console.WriteLine(prefix ? $"every prompt starting with the same {longTokens} tokens, no other client; {model.ParameterCount:N0} parameters, random weights; {rounds} rounds of {seconds:F0} s a setting, alternated; means over rounds."
            : $"one more sends a prompt of {longTokens} tokens (max_tokens 8) every second; {model.ParameterCount:N0} parameters, random weights; {rounds} rounds of {seconds:F0} s a setting, alternated; means over rounds.");
        Console.WriteLine("| prefill | short tokens/s | gap between streamed tokens, 99th percentile | longest gap | time to first token, mean | long prompt's latency, mean |");
        Console.WriteLine("|---|---|---|---|---|---|");
        for (var i = 0; i < settings.Length; i++)
        {
            var r = results[i];
            Console.WriteLine($"| {settings[i].Name} | {r.Average(x => x.ShortTokensPerSecond):N0} | "
                + $"{r.Average(x => x.GapP99Ms):N0} ms | {r.Average(x => x.LongestGapMs):N0} ms | {r.Average(x => x.FirstTokenMs):N0} ms | {r.Average(x => x.LongMeanMs):N0} ms |");
        }
        double Ratio(Func<Round, double> f) => results[1].Average(f) / results[0].Average(f);
        Console.WriteLine($"| second / first | {Ratio(x => x.ShortTokensPerSecond):F2}× | {Ratio(x => x.GapP99Ms):F2}× | {Ratio(x => x.LongestGapMs):F2}× | {Ratio(x => x.FirstTokenMs):F2}× | {Ratio(x => x.LongMeanMs):F2}× |");
    }

    private static async Task<Round> Measure(Transformer model, ITokenizer tokenizer, string[] prompts, string? longPrompt, int clients, double seconds, int chunk, int prefixes)
    {
        var policy = new LocalPolicy(new Generator(model, tokenizer), 64, pieceTokens: 1, prefillChunk: chunk, prefixCache: prefixes);
        await using var server = await PonderServer.StartAsync(policy, new ServerOptions { Port = 0, ModelName = "bench", MaxQueue = 4096 });
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(10) };
        var endpoint = new Uri(server.BaseAddress, "completions");
        Task<int> Complete(string prompt, int maxTokens, int seed) => BenchRequest.CompleteAsync(http, endpoint, prompt, maxTokens, seed);
        // A streamed request: its tokens (events with text), the gaps between them and its time to first token, in ms.
        async Task<(int Tokens, List<double> Gaps, double First)> Stream(string prompt, int seed)
        {
            var body = new JsonObject { ["model"] = "bench", ["prompt"] = prompt, ["max_tokens"] = 64, ["temperature"] = 1, ["seed"] = seed, ["stream"] = true };
            var clock = Stopwatch.StartNew();
            using var request = new HttpRequestMessage(HttpMethod.Post, endpoint) { Content = JsonContent.Create(body) };
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            response.EnsureSuccessStatusCode();
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            var (gaps, last, first, count) = (new List<double>(), 0.0, double.NaN, 0);
            while (await reader.ReadLineAsync() is { } line)
            {
                if (!line.StartsWith("data: {", StringComparison.Ordinal) || ((string?)JsonNode.Parse(line[6..])!["choices"]![0]!["text"] ?? "").Length == 0) continue;
                var now = clock.Elapsed.TotalMilliseconds;
                if (count++ == 0) first = now;
                else gaps.Add(now - last);
                last = now;
            }
            return (count, gaps, first);
        }
        await Stream(prompts[0], 0);                                                         // warm-up
        if (longPrompt is not null) await Complete(longPrompt, 8, 0);
        long tokens = 0, longs = 0, longTicks = 0;
        var (allGaps, longest, firsts) = (new List<double>(), new List<double>(), new List<double>());
        var clock = Stopwatch.StartNew();
        var until = TimeSpan.FromSeconds(seconds);
        var shortClients = Enumerable.Range(0, clients).Select(async client =>
        {
            for (var k = client + 1; clock.Elapsed < until; k += clients)
            {
                var (n, gaps, first) = await Stream(prompts[k % prompts.Length], k);
                Interlocked.Add(ref tokens, n);
                lock (allGaps)
                {
                    allGaps.AddRange(gaps);
                    if (gaps.Count > 0) longest.Add(gaps.Max());
                    if (!double.IsNaN(first)) firsts.Add(first);
                }
            }
        });
        var longClient = Task.Run(async () =>
        {
            for (var k = 1; longPrompt is not null && clock.Elapsed < until; k++)
            {
                var start = clock.ElapsedTicks;
                await Complete(longPrompt, 8, k);
                longs++;
                longTicks += clock.ElapsedTicks - start;
                await Task.Delay(1000);
            }
        });
        await Task.WhenAll([.. shortClients, longClient]);
        var elapsed = clock.Elapsed.TotalSeconds;
        allGaps.Sort();
        if (allGaps.Count == 0) allGaps.Add(double.NaN);
        return new Round(tokens / elapsed, allGaps[(int)(0.99 * (allGaps.Count - 1))], longest.DefaultIfEmpty(double.NaN).Max(), firsts.DefaultIfEmpty(double.NaN).Average(),
            longs == 0 ? double.NaN : longTicks * 1000.0 / Stopwatch.Frequency / longs);
    }
}
