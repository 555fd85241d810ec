using Ponder.Learning;
using Ponder.Policy;
using Ponder.Tasks;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Ponder.Bench;

/// <summary>
/// Where an SFT step's time goes (batch 64 of the task's gold solutions, the default training step): the step's phases
/// in milliseconds (batch building, forward to the final hidden states, head and loss, backward, AdamW), then the
/// step's products alone at the same shapes (every projection of every layer, forward and backward, on random inputs
/// with as many rows as the batch has positions) and fused attention (scaled_dot_product_attention, forward and
/// backward, per layer), each with its GFLOP/s: what the libtorch kernels give at these shapes, against the machine
/// peak read first.
/// </summary>
internal static class TrainProfile
{
    public static void Run(Transformer model, ITokenizer tokenizer, ITask task, double seconds)
    {
        var c = model.Config;
        var optimizer = new AdamW(model.named_parameters().Select(p => (p.name, (Tensor)p.parameter)));
        model.train();
        var phases = new double[5];
        long step = 0, positions = 0, width = 0;
        int measured = 0;
        var clock = BenchClock.StartNew();
        while (clock.Elapsed.TotalSeconds < seconds || measured < 5)
        {
            using var scope = NewDisposeScope();
            var watch = System.Diagnostics.Stopwatch.StartNew();
            var (inputs, targets, _) = SftBatch.Build(tokenizer, SftTrainer.BatchExamples(task, 1, ++step, 64), model.Device);
            var t0 = watch.Elapsed.TotalMilliseconds;
            var hidden = model.Hidden(inputs);                                                      // (B, T, C)
            var t1 = watch.Elapsed.TotalMilliseconds;
            var loss = F.cross_entropy(model.Logits(hidden).view(-1, c.VocabSize), targets.view(-1), ignore_index: SftBatch.Ignore);
            loss.item<float>();
            var t2 = watch.Elapsed.TotalMilliseconds;
            loss.backward();
            var t3 = watch.Elapsed.TotalMilliseconds;
            optimizer.Update(1e-4);
            optimizer.ZeroGrad();
            var t4 = watch.Elapsed.TotalMilliseconds;
            if (step <= 3) { clock = BenchClock.StartNew(); continue; }                          // warm-up steps
            double[] split = [t0, t1 - t0, t2 - t1, t3 - t2, t4 - t3];
            for (int i = 0; i < 5; i++) phases[i] += split[i];
            positions += inputs.numel();
            width += inputs.shape[1];
            measured++;
        }
        model.eval();
        long rows = positions / measured, t = width / measured;
        double total = phases.Sum() / measured;
        double stepFlops = 3 * model.FlopsPerToken((int)t) * rows;
        Console.WriteLine();
        Console.WriteLine($"SFT step profile ({get_num_threads()} thread(s), batch 64, {t} positions a row on average, {measured} steps):");
        Console.WriteLine();
        Console.WriteLine("| phase | ms per step | share |");
        Console.WriteLine("|---|---|---|");
        string[] names = ["batch", "forward to hidden", "head and loss", "backward", "AdamW"];
        for (int i = 0; i < 5; i++) Console.WriteLine($"| {names[i]} | {phases[i] / measured:F1} | {phases[i] / measured / total:P0} |");
        Console.WriteLine($"| step | {total:F1} | {stepFlops / (total / 1e3) / 1e9:F0} GFLOP/s on all positions, padding included |");

        // The step's products alone: each projection weight (out × in) of every layer on (rows × in) inputs.
        var weights = model.named_parameters().Where(p => p.parameter.dim() == 2 && !p.name.Contains("embed") && !p.name.StartsWith("lm_head"))
            .Select(p => (p.name, Shape: (Out: p.parameter.shape[0], In: p.parameter.shape[1]))).ToList();
        double productFlops = weights.Sum(w => 2.0 * rows * w.Shape.Out * w.Shape.In);
        var (forward, backward) = (0.0, 0.0);
        foreach (var (_, (o, i)) in weights)
        {
            var (f, b) = LinearTimes(rows, i, o, seconds / weights.Count);
            (forward, backward) = (forward + f, backward + b);
        }
        int nh = c.NumHeads, hs = c.HeadDim;
        var (attnForward, attnBackward) = AttentionTimes(rows / t, nh, t, hs, seconds / 4);
        double attnFlops = 4.0 * (rows / t) * nh * t * t * hs / 2;                                  // causal: half of QKᵀ and PV
        Console.WriteLine();
        Console.WriteLine("| the step's … alone, at its shapes | forward ms | GFLOP/s | backward ms | GFLOP/s |");
        Console.WriteLine("|---|---|---|---|---|");
        Console.WriteLine($"| products ({weights.Count} weights, {rows} rows) | {forward:F1} | {productFlops / forward / 1e6:F0} | {backward:F1} | {2 * productFlops / backward / 1e6:F0} |");
        Console.WriteLine($"| fused attention ({c.NumLayers} layers, {rows / t} × {nh} heads × {t} × {hs}) | {c.NumLayers * attnForward:F1} | {attnFlops / attnForward / 1e6:F0} | {c.NumLayers * attnBackward:F1} | {2 * attnFlops / attnBackward / 1e6:F0} |");
    }

    /// <summary>Milliseconds of y = x·Wᵀ forward and of its backward (dx and dW), x (rows × in), W (out × in).</summary>
    static (double Forward, double Backward) LinearTimes(long rows, long inFeatures, long outFeatures, double seconds)
    {
        using var scope = NewDisposeScope();
        var x = randn(rows, inFeatures).requires_grad_();
        var w = (randn(outFeatures, inFeatures) * 0.05).requires_grad_();
        var g = randn(rows, outFeatures);
        return Time(seconds, () => F.linear(x, w), y => y.backward([g]), [x, w]);
    }

    /// <summary>Milliseconds of causal scaled_dot_product_attention forward and of its backward, one layer.</summary>
    static (double Forward, double Backward) AttentionTimes(long batch, long heads, long t, long hs, double seconds)
    {
        using var scope = NewDisposeScope();
        var (q, k, v) = (randn(batch, heads, t, hs).requires_grad_(), randn(batch, heads, t, hs).requires_grad_(), randn(batch, heads, t, hs).requires_grad_());
        var g = randn(batch, heads, t, hs);
        return Time(seconds, () => F.scaled_dot_product_attention(q, k, v, is_casual: true), y => y.backward([g]), [q, k, v]);
    }

    static (double Forward, double Backward) Time(double seconds, Func<Tensor> forward, Action<Tensor> backward, Tensor[] leaves)
    {
        var (f, b) = (0.0, 0.0);
        int n = 0;
        var clock = BenchClock.StartNew();
        for (int i = 0; clock.Elapsed.TotalSeconds < seconds || n < 3; i++)
        {
            using var scope = NewDisposeScope();
            var watch = System.Diagnostics.Stopwatch.StartNew();
            var y = forward();
            var t0 = watch.Elapsed.TotalMilliseconds;
            backward(y);
            var t1 = watch.Elapsed.TotalMilliseconds;
            foreach (var leaf in leaves) leaf.grad?.zero_();
            if (i < 2) continue;                                                                 // warm-up
            (f, b, n) = (f + t0, b + t1 - t0, n + 1);
        }
        return (f / n, b / n);
    }
}
