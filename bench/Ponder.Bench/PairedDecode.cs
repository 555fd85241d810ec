using Ponder.Policy;

namespace Ponder.Bench;

/// <summary>
/// Batch-64 decode's fraction of the matmul peak read in pairs: each round reads the peak (the higher of libtorch's
/// matmul and Ponder's tiled kernel, as section 1) and then decodes (fixed length, 64 held-out prompts, the decode loop
/// alone, as the decode table's last columns), and its fraction is that round's decode over that round's peak; so a
/// round's two readings see about the same load from other jobs on a shared machine. Printed: the median and the
/// quartiles of the rounds' fractions, and the fraction the decode table would give over the same rounds (mean decode
/// rate over the highest peak reading).
/// </summary>
internal static class PairedDecode
{
    public static void Run(Transformer model, ITokenizer tokenizer, string task, double roundSeconds, int rounds, Func<double, double> peakOver)
    {
        var decode = new FixedLengthDecode(model, tokenizer, task);
        decode.WarmUp();
        var flops = model.FlopsPerToken(64);
        var readings = new List<(double Peak, double Rate)>();
        for (var round = 0; round < rounds; round++)
        {
            var peak = peakOver(roundSeconds / 2);
            readings.Add((peak, decode.Round(roundSeconds).Decode));
        }
        var fractions = readings.Select(r => r.Rate * flops / r.Peak).Order().ToList();
        double Quantile(IReadOnlyList<double> sorted, double q) => sorted[(int)Math.Round(q * (sorted.Count - 1))];
        var rates = readings.Select(r => r.Rate).Order().ToList();
        var peaks = readings.Select(r => r.Peak).Order().ToList();
        Console.WriteLine();
        Console.WriteLine($"Batch 64 decode alone, fixed length, against the matmul peak read just before it: {rounds} rounds of {roundSeconds / 2:F1} s of peak then {roundSeconds:F1} s of decode.");
        Console.WriteLine("| readings | decode tokens/s | matmul peak, GFLOP/s | fraction of peak |");
        Console.WriteLine("|---|---|---|---|");
        Console.WriteLine($"| median over rounds (the fraction: of each round's own pair) | {Quantile(rates, 0.5):N0} | {Quantile(peaks, 0.5) / 1e9:F1} | {Quantile(fractions, 0.5):P1} |");
        Console.WriteLine($"| first and third quartiles | {Quantile(rates, 0.25):N0} – {Quantile(rates, 0.75):N0} | {Quantile(peaks, 0.25) / 1e9:F1} – {Quantile(peaks, 0.75) / 1e9:F1} | {Quantile(fractions, 0.25):P1} – {Quantile(fractions, 0.75):P1} |");
        Console.WriteLine($"| mean decode over the highest peak (as the decode table) | {rates.Average():N0} | {peaks[^1] / 1e9:F1} | {rates.Average() * flops / peaks[^1]:P1} |");
    }
}
