using Ponder.Policy;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Ponder.Bench;

/// <summary>
/// A decode step's linears at batch 64 and the 0.8M model's shapes, one thread: libtorch's <c>F.linear</c> against
/// <see cref="TiledLinear"/> (what <see cref="FusedAppend"/> runs), in µs per call and GFLOP/s, with the largest
/// difference between them. Each shape cycles through copies of its weight that add up to the model's weight bytes, so
/// a matrix comes from where it would in a decode step (the shared cache, not L1).
/// </summary>
internal static class TiledProbe
{
    public static void Run(double secondsPerItem, int rows = 64)
    {
        var shapes = new (int Out, int In)[] { (384, 128), (128, 128), (704, 128), (128, 352), (100, 128) };
        var saved = get_num_threads();
        set_num_threads(1);
        Console.WriteLine();
        Console.WriteLine($"| weight (out × in), {rows} rows, 1 thread | libtorch µs | libtorch GFLOP/s | C# µs | C# GFLOP/s | max abs diff |");
        Console.WriteLine("|---|---|---|---|---|---|");
        using var mode = inference_mode();
        foreach (var (outF, inF) in shapes)
        {
            using var scope = NewDisposeScope();
            var copies = (int)Math.Max(1, 4L * 800_000 / (4L * outF * inF));      // the model's weight bytes, as in a decode step
            var ws = Enumerable.Range(0, copies).Select(_ => randn(outF, inF) * 0.05).ToArray();
            var w = ws[0];
            var x = randn(rows, inF);
            var y = empty(rows, outF);
            var next = 0;
            unsafe void Tiled()
            {
                var wn = ws[next++ % copies];
                fixed (byte* xp = x.bytes, wp = wn.bytes, yp = y.bytes)
                    TiledLinear.Compute((float*)xp, rows, (float*)wp, null, (float*)yp, outF, inF, 0, outF, accumulate: false);
            }
            Tiled();
            var diff = (F.linear(x, w) - y).abs().max().item<float>();
            double torchMicros = double.MaxValue, tiledMicros = double.MaxValue;
            for (var round = 0; round < 2; round++)
            {
                torchMicros = Math.Min(torchMicros, Time(secondsPerItem, () => F.linear(x, ws[next++ % copies]).Dispose()));
                tiledMicros = Math.Min(tiledMicros, Time(secondsPerItem, Tiled));
            }
            double gflops(double micros) => 2.0 * rows * outF * inF / (micros * 1e3);
            Console.WriteLine($"| {outF} × {inF} | {torchMicros:F1} | {gflops(torchMicros):F1} | {tiledMicros:F1} | {gflops(tiledMicros):F1} | {diff:G2} |");
        }
        set_num_threads(saved);
    }

    private static double Time(double seconds, Action op)
    {
        for (var i = 0; i < 20; i++) op();
        long calls = 0;
        var clock = BenchClock.StartNew();
        do
        {
            for (var i = 0; i < 20; i++) op();
            calls += 20;
        } while (clock.Elapsed.TotalSeconds < seconds);
        return clock.Elapsed.TotalMilliseconds * 1000 / calls;
    }
}
