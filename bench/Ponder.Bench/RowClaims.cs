using Ponder.Policy;

namespace Ponder.Bench;

/// <summary>
/// A fused decode step's two schedules (<see cref="FusedAppend.ClaimedChunks"/>): the threads claim chunks of the
/// batch's rows as they come free, or each takes one fixed share. The results are the same bits; on a shared machine a
/// thread that starts late or is descheduled stalls a fixed share's step, not a claimed one's. Fixed-length decode of 64
/// held-out prompts, the two alternated in many short rounds so that both see the same load; rows: the best and mean
/// rates (and their fractions of the higher of two matmul peak readings, before and after), and the median over rounds of each round's ratio to
/// the fixed shares.
/// </summary>
internal static class RowClaims
{
    public static void Run(Transformer model, ITokenizer tokenizer, string task, double seconds, double peak, Func<string, double> peakAgain, int rounds = 30) =>
        Alternate(model, tokenizer, task, seconds, peak, peakAgain, rounds, ["one fixed share a thread", "chunks claimed as threads come free (default)"],
            on => FusedAppend.ClaimedChunks = on);

    /// <summary>
    /// Cached attention with and without asking the next head's keys and values into L2 while a head attends
    /// (<see cref="SmallRowOps.PrefetchKv"/>; the same results), alternated in the same way.
    /// </summary>
    public static void RunPrefetch(Transformer model, ITokenizer tokenizer, string task, double seconds, double peak, Func<string, double> peakAgain, int rounds = 30) =>
        Alternate(model, tokenizer, task, seconds, peak, peakAgain, rounds, ["no prefetch", "the next head's keys and values prefetched (default)"],
            on => SmallRowOps.PrefetchKv = on);

    /// <summary>
    /// The KV cache made with room for the decode steps at the prefill (<see cref="Generator.RoomAtPrefill"/>, the
    /// default) or grown when decoding starts, alternated in the same way.
    /// </summary>
    public static void RunRoom(Transformer model, ITokenizer tokenizer, string task, double seconds, double peak, Func<string, double> peakAgain, int rounds = 30) =>
        Alternate(model, tokenizer, task, seconds, peak, peakAgain, rounds, ["cache grown when decoding starts", "room made at the prefill (default)"],
            on => Generator.RoomAtPrefill = on);

    // Fixed-length decode with `set(false)` and `set(true)` alternated over `rounds`; `set(true)` is the default after.
    private static void Alternate(Transformer model, ITokenizer tokenizer, string task, double seconds, double peak, Func<string, double> peakAgain, int rounds,
        string[] names, Action<bool> set)
    {
        var decode = new FixedLengthDecode(model, tokenizer, task);
        bool[] schedules = [false, true];
        var rates = schedules.Select(_ => new List<double>()).ToArray();
        var whole = schedules.Select(_ => new List<double>()).ToArray();           // end to end: prefill included
        var roundSeconds = Math.Max(0.5, seconds / 5);
        for (var round = 0; round < rounds; round++)
            for (var i = 0; i < schedules.Length; i++)
            {
                set(schedules[i]);
                var (alone, endToEnd) = decode.Round(roundSeconds);
                rates[i].Add(alone);
                whole[i].Add(endToEnd);
            }
        set(true);
        peak = Math.Max(peak, peakAgain(" again, after the rounds"));              // other jobs only ever slow a reading down
        double Fraction(double tokensPerSecond) => tokensPerSecond * model.FlopsPerToken(64) / peak;
        Console.WriteLine($"| batch 64 decode alone, fixed length ({rounds} rounds of {roundSeconds:F1} s each, alternated) | best tokens/s | fraction of matmul peak | mean tokens/s | fraction of peak | median of the round's ratio to the first row | end to end (prefill included): mean tokens/s, median ratio |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        double Median(List<double> x, List<double> y) => x.Zip(y, (r, f) => r / f).Order().ElementAt(x.Count / 2);
        for (var i = 0; i < schedules.Length; i++)
            Console.WriteLine($"| {names[i]} | {rates[i].Max():N0} | {Fraction(rates[i].Max()):P1} | {rates[i].Average():N0} | {Fraction(rates[i].Average()):P1} | {Median(rates[i], rates[0]):F3} | {whole[i].Average():N0}, {Median(whole[i], whole[0]):F3} |");
    }
}
