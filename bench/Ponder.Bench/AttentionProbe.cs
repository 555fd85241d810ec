using Ponder.Policy;
using static TorchSharp.torch;

namespace Ponder.Bench;

/// <summary>
/// What a decode step's C# cached attention (<see cref="SmallRowOps.CachedAttention"/>) costs per row, head and cache
/// column, at the default model's shapes (4 heads of 32, batch 64, 4 layers), one thread. "warm" attends one layer's
/// cache again and again (it stays in the CPU caches); "cold" cycles through the layers' caches of as many decode
/// steps' worth of rows as a real step reads, so each call finds its cache where a decode step would. Rows: cache
/// capacity (the column stride of a (row, head) block) and element type.
/// </summary>
internal static class AttentionProbe
{
    public static void Run(double secondsPerItem)
    {
        const int batch = 64, heads = 4, headDim = 32, layers = 4, columns = 48;
        var saved = get_num_threads();
        set_num_threads(1);
        Console.WriteLine();
        Console.WriteLine($"C# cached attention, batch {batch}, {heads} heads of {headDim}, {columns} columns, 1 thread (ns per row·head·column):");
        Console.WriteLine("| cache | capacity | MB read per layer | warm ns | cold ns | cold GB/s |");
        Console.WriteLine("|---|---|---|---|---|---|");
        using var mode = inference_mode();
        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
        {
            foreach (var capacity in new[] { 64, 256, 1024 })
            {
                using var scope = NewDisposeScope();
                var caches = Enumerable.Range(0, layers).Select(_ => (K: randn(batch, heads, capacity, headDim).to(dtype), V: randn(batch, heads, capacity, headDim).to(dtype))).ToArray();
                var qkv = randn(batch, 1, 3 * heads * headDim);
                var mask = zeros(batch, 1, 1, columns);
                var next = 0;
                Tensor Call(int layer) => SmallRowOps.CachedAttention(qkv, heads, heads, headDim, caches[layer].K, caches[layer].V, columns - 1, mask, 1);
                var warm = Time(secondsPerItem, () => Call(0).Dispose());
                var cold = Time(secondsPerItem, () => Call(next++ % layers).Dispose());
                double perColumn(double micros) => micros * 1e3 / ((double)batch * heads * columns);
                var bytes = 2.0 * batch * heads * columns * headDim * (dtype == ScalarType.Float32 ? 4 : 2);
                Console.WriteLine($"| {(dtype == ScalarType.Float32 ? "f32" : "bf16")} | {capacity} | {bytes / 1e6:F2} | {perColumn(warm):F1} | {perColumn(cold):F1} | {bytes / (cold * 1e3):F1} |");
            }
        }
        set_num_threads(saved);
    }

    // Wall-clock µs per call of op, after a warm-up; best of three rounds.
    private static double Time(double seconds, Action op)
    {
        for (var i = 0; i < 8; i++) op();
        var best = double.MaxValue;
        for (var round = 0; round < 3; round++)
        {
            long calls = 0;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (clock.Elapsed.TotalSeconds < seconds / 3) { op(); calls++; }
            best = Math.Min(best, clock.Elapsed.TotalMicroseconds / calls);
        }
        return best;
    }
}
