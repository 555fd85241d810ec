using Ponder.Policy;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Ponder.Bench;

/// <summary>
/// One-row linears at the bench models' shapes: libtorch's <c>F.linear</c> against <see cref="SmallRowLinear"/>, at
/// one and two threads, in µs per call and GB/s of weight read. Each shape cycles through copies of its weight that
/// add up to the model's weight bytes, so a matrix comes from where it would in a decode step (the caches for the
/// 0.8M model, memory for the 25.8M one).
/// </summary>
internal static class MatVecProbe
{
    public static void Run(double secondsPerItem)
    {
        var models = new (string Name, long Bytes, (int Out, int In)[] Shapes)[]
        {
            ("0.8M", 4L * 800_000, [(384, 128), (128, 128), (704, 128), (128, 352), (100, 128)]),
            ("25.8M", 4L * 25_800_000, [(1536, 512), (512, 512), (2816, 512), (512, 1408), (100, 512)]),
        };
        var saved = get_num_threads();
        Console.WriteLine();
        Console.WriteLine("| model | weight (out × in) | threads | libtorch µs | libtorch GB/s | C# µs | C# GB/s | max abs diff |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        using var mode = inference_mode();
        foreach (var (name, bytes, shapes) in models)
        {
            foreach (var (outF, inF) in shapes)
            {
                using var scope = NewDisposeScope();
                var copies = (int)Math.Max(1, bytes / (4L * outF * inF));
                var weights = Enumerable.Range(0, copies).Select(_ => randn(outF, inF) * 0.05).ToArray();
                var x = randn(1, 1, inF);                                                   // (1, 1, In)
                var diff = weights.Max(w => (F.linear(x, w) - SmallRowLinear.Forward(x, w, null)).abs().max().item<float>());
                foreach (var threads in new[] { 1, 2 })
                {
                    set_num_threads(threads);
                    var next = 0;
                    double torchMicros = 0, kernelMicros = 0;
                    for (var round = 0; round < 2; round++)   // alternated, best of two
                    {
                        var t = Time(secondsPerItem, () => F.linear(x, weights[next++ % copies]).Dispose());
                        var k = Time(secondsPerItem, () => SmallRowLinear.Forward(x, weights[next++ % copies], null).Dispose());
                        (torchMicros, kernelMicros) = round == 0 ? (t, k) : (Math.Min(torchMicros, t), Math.Min(kernelMicros, k));
                    }
                    double gbs(double micros) => 4.0 * outF * inF / (micros * 1e3);
                    Console.WriteLine($"| {name} | {outF} × {inF} | {threads} | {torchMicros:F1} | {gbs(torchMicros):F1} | {kernelMicros:F1} | {gbs(kernelMicros):F1} | {diff:G2} |");
                }
            }
        }
        set_num_threads(saved);
    }

    // Wall-clock µs per call of op, after a warm-up.
    private static double Time(double seconds, Action op)
    {
        for (var i = 0; i < 20; i++) op();
        long calls = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        do
        {
            for (var i = 0; i < 20; i++) op();
            calls += 20;
        } while (clock.Elapsed.TotalSeconds < seconds);
        return clock.Elapsed.TotalMilliseconds * 1000 / calls;
    }
}
