using Ponder.Learning;
using Ponder.Policy;
using Ponder.Tasks;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Ponder.Bench;

/// <summary>
/// Where an SFT step's time goes (batch 64 of the task's gold solutions, the default training step): the step's phases
/// in milliseconds (batch building, forward to the final hidden states, head and loss, backward, AdamW), with Ponder's C#
/// training kernels (<see cref="Transformer.TrainingKernels"/>) on the examples packed into one row (the default,
/// <see cref="SftBatch.Pack"/>) and padded to rows, and with libtorch's ops on padded rows, steps taking turns after 150
/// warm-up steps (glibc's heap grows for about a hundred steps, and each fresh page costs a fault), then the
/// step's products alone at the same shapes (every projection of every layer, forward and backward, on random inputs
/// with as many rows as the batch has positions) and fused attention (scaled_dot_product_attention, forward and
/// backward, per layer) and rotary + attention from the fused q/k/v rows (the C# node against libtorch's ops), each with
/// its GFLOP/s: what the kernels give at these shapes, against the machine peak read first.
/// </summary>
internal static class TrainProfile
{
    public static void Run(Transformer model, ITokenizer tokenizer, ITask task, double seconds)
    {
        var c = model.Config;
        var optimizer = new AdamW(model.named_parameters().Select(p => (p.name, (Tensor)p.parameter)));
        model.train();
        // Steps take turns between the three ways, so that all see the same machine.
        string[] modes = ["C# nodes, packed (the default)", "C# nodes, padded (--no-pack)", "libtorch's ops, padded"];
        var phases = new double[3, 5];
        var steps = new List<double>[] { [], [], [] };
        var tokens = new long[3];
        long step = 0, positions = 0, width = 0;
        int measured = 0, padded = 0;
        var clock = BenchClock.StartNew();
        while (clock.Elapsed.TotalSeconds < seconds || measured < 10)
        {
            using var scope = NewDisposeScope();
            var mode = (int)(step % 3);
            model.TrainingKernels = mode < 2;
            var watch = System.Diagnostics.Stopwatch.StartNew();
            var examples = SftTrainer.BatchExamples(task, 1, ++step, 64);
            Tensor inputs, targets, hidden;
            PackedRows? packedRows = null;
            if (mode == 0) (inputs, targets, _, packedRows) = SftBatch.Pack(tokenizer, examples, model.Device);
            else (inputs, targets, _) = SftBatch.Build(tokenizer, examples, model.Device);
            var t0 = watch.Elapsed.TotalMilliseconds;
            hidden = packedRows is null ? model.Hidden(inputs) : model.Hidden(inputs, packedRows); // (B, T, C)
            var t1 = watch.Elapsed.TotalMilliseconds;
            var loss = F.cross_entropy(model.Logits(hidden).view(-1, c.VocabSize), targets.view(-1), ignore_index: SftBatch.Ignore);
            loss.item<float>();
            var t2 = watch.Elapsed.TotalMilliseconds;
            loss.backward();
            var t3 = watch.Elapsed.TotalMilliseconds;
            optimizer.Update(1e-4);
            optimizer.ZeroGrad();
            var t4 = watch.Elapsed.TotalMilliseconds;
            if (step <= 150) { clock = BenchClock.StartNew(); continue; }                          // warm-up steps
            double[] split = [t0, t1 - t0, t2 - t1, t3 - t2, t4 - t3];
            for (int i = 0; i < 5; i++) phases[mode, i] += split[i];
            steps[mode].Add(t4);
            tokens[mode] += inputs.ne(tokenizer.Pad).sum().item<long>();
            if (mode > 0)
            {
                positions += inputs.numel();
                width += inputs.shape[1];
                padded++;
            }
            measured++;
        }
        model.TrainingKernels = false;
        model.eval();
        long rows = positions / padded, t = width / padded;                                         // the padded batches' shapes
        double Median(List<double> xs) => xs.Order().ElementAt(xs.Count / 2);
        Console.WriteLine();
        Console.WriteLine($"SFT step profile ({get_num_threads()} thread(s), batch 64, padded rows of {t} positions on average, {measured} steps taking turns):");
        Console.WriteLine();
        Console.WriteLine($"| phase, ms per step (mean) | {string.Join(" | ", modes)} |");
        Console.WriteLine("|---|---|---|---|");
        string[] names = ["batch", "forward to hidden", "head and loss", "backward", "AdamW"];
        for (int i = 0; i < 5; i++) Console.WriteLine($"| {names[i]} | {string.Join(" | ", Enumerable.Range(0, 3).Select(m => $"{phases[m, i] / steps[m].Count:F1}"))} |");
        Console.WriteLine($"| step (median) | {string.Join(" | ", steps.Select(x => $"{Median(x):F1}"))} |");
        // Training FLOPs of the real tokens (3 × a forward's at the task's context, as bench --train counts), per median step.
        var flopsPerToken = 3 * model.FlopsPerToken(64);
        Console.WriteLine($"| GFLOP/s of the real tokens (median step) | {string.Join(" | ", Enumerable.Range(0, 3).Select(m => $"{flopsPerToken * tokens[m] / steps[m].Count / Median(steps[m]) / 1e6:F0}"))} |");

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
        foreach (var kernels in new[] { true, false })
            NodeRow(model, (int)(rows / t), (int)t, kernels, seconds / 4, $"rotary + attention from q/k/v rows, {(kernels ? "C# node" : "libtorch's ops")}");
    }

    /// <summary>One table row: a layer's rotary + attention node (or libtorch's ops) forward and backward, times the layers, with GFLOP/s.</summary>
    static void NodeRow(Transformer model, int batch, int t, bool kernels, double seconds, string name)
    {
        var c = model.Config;
        double attnFlops = 4.0 * batch * c.NumHeads * t * t * c.HeadDim / 2;                        // causal: half of QKᵀ and PV
        var (f, b) = AttentionNodeTimes(batch, c.NumHeads, c.NumKvHeads, t, c.HeadDim, seconds, kernels);
        Console.WriteLine($"| {name} | {c.NumLayers * f:F1} | {attnFlops / f / 1e6:F0} | {c.NumLayers * b:F1} | {2 * attnFlops / b / 1e6:F0} |");
    }

    /// <summary>
    /// Only the attention rows of <see cref="Run"/>'s second table (`--train-attention`): rotary + causal attention from
    /// the fused q/k/v rows, the C# node, the C# node on its 8-float loops (where the CPU has AVX-512 and the node takes
    /// 16-float ones: the same values, <see cref="CausalAttentionKernel.Wide"/>) and libtorch's ops, alternated twice,
    /// at the default SFT batch's shapes (64 rows of <paramref name="t"/> positions).
    /// </summary>
    public static void RunAttention(Transformer model, int t, double seconds)
    {
        var c = model.Config;
        const int batch = 64;
        Console.WriteLine();
        Console.WriteLine($"| rotary + attention from q/k/v rows ({c.NumLayers} layers, {batch} × {c.NumHeads} heads × {t} × {c.HeadDim}) | forward ms | GFLOP/s | backward ms | GFLOP/s |");
        Console.WriteLine("|---|---|---|---|---|");
        var wide = CausalAttentionKernel.Wide;
        try
        {
            for (int round = 0; round < 2; round++)
            {
                NodeRow(model, batch, t, true, seconds / 6, "C# node");
                if (wide)
                {
                    CausalAttentionKernel.Wide = false;
                    NodeRow(model, batch, t, true, seconds / 6, "C# node, 8-float loops");
                    CausalAttentionKernel.Wide = true;
                }
                NodeRow(model, batch, t, false, seconds / 6, "libtorch's ops");
            }
        }
        finally
        {
            CausalAttentionKernel.Wide = wide;
        }
    }

    /// <summary>
    /// Milliseconds of one layer's rotary + causal attention from fused q/k/v rows to the heads side by side, forward and
    /// backward: the C# node (<see cref="CausalAttentionFunction"/>) or libtorch's ops (Rotary.Apply, transposes, SDPA).
    /// </summary>
    static (double Forward, double Backward) AttentionNodeTimes(long batch, int heads, int kvHeads, long t, int hs, double seconds, bool kernels)
    {
        using var scope = NewDisposeScope();
        using var rotary = new Rotary(hs, (int)t, 10000);
        var (cos, sin) = rotary.Lookup(arange(t, ScalarType.Int64).unsqueeze(0), ScalarType.Float32);      // (1, 1, T, hs)
        var qkv = randn(batch, t, (heads + 2 * kvHeads) * hs).requires_grad_();                           // (B, T, W)
        var g = randn(batch, t, heads * hs);                                                               // (B, T, nh·hs)
        Tensor Forward()
        {
            if (kernels) return CausalAttentionFunction.apply(qkv, cos, sin, heads, kvHeads, hs);
            var all = qkv.view(batch, t, heads + 2 * kvHeads, hs).transpose(1, 2);                       // (B, H, T, hs)
            var q = Rotary.Apply(all.narrow(1, 0, heads), cos, sin);
            var k = Rotary.Apply(all.narrow(1, heads, kvHeads), cos, sin);
            var v = all.narrow(1, heads + kvHeads, kvHeads);
            if (heads > kvHeads) (k, v) = (k.repeat_interleave(heads / kvHeads, 1), v.repeat_interleave(heads / kvHeads, 1));
            return F.scaled_dot_product_attention(q, k, v, is_casual: true).transpose(1, 2).reshape(batch, t, heads * hs);
        }
        return Time(seconds, Forward, y => y.backward([g]), [qkv]);
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
