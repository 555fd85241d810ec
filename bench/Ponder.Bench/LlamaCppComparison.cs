using LLama;
using LLama.Common;
using LLama.Native;
using Ponder.Interop;
using Ponder.Policy;
using static TorchSharp.torch;

namespace Ponder.Bench;

/// <summary>
/// Ponder's decode speed against llama.cpp's (LLamaSharp CPU backend) on the same weights (the model exported to an
/// F32 GGUF) with the same thread count. Both engines run the same work: prefill a prompt per sequence, then greedy
/// decode steps of one token per sequence, all sequences in one batch (Ponder: one (B, 1) forward with a KV cache;
/// llama.cpp: one llama_batch holding a token of each sequence). Decode tokens per second, prefill excluded.
/// </summary>
internal static class LlamaCppComparison
{
    private const int PromptTokens = 16;

    // llama.cpp logs every tensor it loads; the callback can be set only before the native library is first used.
    private static readonly Lazy<bool> QuietLogs = new(() =>
    {
        NativeLibraryConfig.All.WithLogCallback((_, _) => { });
        return true;
    });

    /// <summary>
    /// Turns the inference fast paths on (the default) or off (the earliest path): fused q/k/v and gate/up projections,
    /// and the C# kernel for linears of at most four rows (<see cref="Transformer.SmallRowKernels"/>).
    /// </summary>
    public static void FastPaths(Transformer model, bool on) => (model.FuseProjections, model.SmallRowKernels) = (on, on);

    /// <summary>
    /// Per batch: Ponder with fused projections and libtorch's linears ("before"), then with the C# small-row kernel
    /// as well (the default), and llama.cpp; tokens per second.
    /// </summary>
    public static List<(string Model, int Batch, double Before, double Ponder, double LlamaCpp)> Run(Transformer model, ITokenizer tokenizer, string label, int[] batches, int decodeSteps, double seconds)
    {
        int threads = get_num_threads();
        string gguf = Path.Combine(Path.GetTempPath(), $"ponder-bench-{Guid.NewGuid():N}.gguf");
        GgufExport.Write(gguf, model, tokenizer, GgufTensorType.F32);
        _ = QuietLogs.Value;
        var rows = new List<(string, int, double, double, double)>();
        try
        {
            var random = new Random(0);
            foreach (int batch in batches)
            {
                var prompts = Enumerable.Range(0, batch).Select(_ => Enumerable.Range(0, PromptTokens).Select(_ => random.Next(4, model.Config.VocabSize)).ToArray()).ToArray();
                double before = 0, ponder = 0, llama = 0;
                for (int round = 0; round < 2; round++)   // alternated, best of two: other jobs only ever slow a measurement down
                {
                    FastPaths(model, true);
                    model.SmallRowKernels = false;
                    before = Math.Max(before, Measure(seconds, () => PonderDecode(model, prompts, decodeSteps)));
                    model.SmallRowKernels = true;
                    ponder = Math.Max(ponder, Measure(seconds, () => PonderDecode(model, prompts, decodeSteps)));
                    llama = Math.Max(llama, LlamaCppDecode(gguf, prompts, decodeSteps, threads, seconds));
                }
                rows.Add((label, batch, before, ponder, llama));
                Console.WriteLine($"  {label} batch {batch}: Ponder {ponder:N0} tok/s (before {before:N0}), llama.cpp {llama:N0} tok/s");
            }
        }
        finally
        {
            File.Delete(gguf);
        }
        return rows;
    }

    /// <summary>Ponder: prefill, then <paramref name="steps"/> greedy (B, 1) forwards on a KV cache; returns decode seconds.</summary>
    private static (double Units, double Seconds) PonderDecode(Transformer model, int[][] prompts, int steps)
    {
        using var mode = inference_mode();
        using var scope = NewDisposeScope();
        int b = prompts.Length;
        var cache = model.NewCache(b, PromptTokens + steps);
        var ids = tensor(prompts.SelectMany(p => p.Select(t => (long)t)).ToArray()).view(b, PromptTokens);   // (B, P)
        var next = model.Forward(ids, cache).select(1, -1).argmax(-1, keepdim: true);                         // (B, 1)
        var clock = BenchClock.StartNew();
        for (int step = 0; step < steps; step++)
        {
            using var stepScope = NewDisposeScope();
            next = model.Forward(next, cache).select(1, -1).argmax(-1, keepdim: true).MoveToOuterDisposeScope(); // (B, 1)
            _ = next[0, 0].item<long>();   // the host needs each step's tokens (EOS, stop strings), as in the generator
        }
        double elapsed = clock.Elapsed.TotalSeconds;
        cache.Dispose();
        return (b * steps, elapsed);
    }

    private static double LlamaCppDecode(string gguf, int[][] prompts, int steps, int threads, double seconds)
    {
        int b = prompts.Length;
        var parameters = new ModelParams(gguf)
        {
            ContextSize = (uint)(b * (PromptTokens + steps) + 64),
            BatchSize = (uint)Math.Max(b * PromptTokens, 64),
            UBatchSize = (uint)Math.Max(b * PromptTokens, 64),
            SeqMax = (uint)b,
            Threads = threads,
            BatchThreads = threads,
            GpuLayerCount = 0,
            TypeK = GGMLType.GGML_TYPE_F32,   // F32 throughout, as Ponder computes
            TypeV = GGMLType.GGML_TYPE_F32,
        };
        using var weights = LLamaWeights.LoadFromFile(parameters);
        using var context = weights.CreateContext(parameters);
        var handle = context.NativeHandle;
        int vocab = weights.Vocab.Count;
        return Measure(seconds, () =>
        {
            handle.MemoryClear(true);
            var batch = new LLamaBatch();
            var last = new int[b];
            for (int s = 0; s < b; s++)
                for (int i = 0; i < PromptTokens; i++)
                    last[s] = batch.Add(prompts[s][i], i, (LLamaSeqId)s, i == PromptTokens - 1);
            Check(handle.Decode(batch));
            var tokens = new int[b];
            for (int s = 0; s < b; s++) tokens[s] = ArgMax(handle.GetLogitsIth(last[s]), vocab);
            var clock = BenchClock.StartNew();
            for (int step = 0; step < steps; step++)
            {
                batch.Clear();
                for (int s = 0; s < b; s++) last[s] = batch.Add(tokens[s], PromptTokens + step, (LLamaSeqId)s, true);
                Check(handle.Decode(batch));
                for (int s = 0; s < b; s++) tokens[s] = ArgMax(handle.GetLogitsIth(last[s]), vocab);
            }
            return (b * steps, clock.Elapsed.TotalSeconds);
        });
    }

    private static void Check(DecodeResult result)
    {
        if (result != DecodeResult.Ok) throw new InvalidOperationException($"llama_decode returned {result}");
    }

    private static int ArgMax(Span<float> logits, int vocab)
    {
        int best = 0;
        for (int i = 1; i < vocab; i++) if (logits[i] > logits[best]) best = i;
        return best;
    }

    // Runs work() (returns units and the seconds they took) after one warm-up call until `budget` seconds of measured time.
    private static double Measure(double budget, Func<(double Units, double Seconds)> work)
    {
        work();
        double units = 0, elapsed = 0;
        do
        {
            var (u, s) = work();
            units += u;
            elapsed += s;
        } while (elapsed < budget);
        return units / elapsed;
    }
}
