using Ponder.Bench;
using Ponder.Learning;
using Ponder.Policy;
using Ponder.Serving;
using Ponder.Tasks;
using TorchSharp;
using static TorchSharp.torch;

// Ponder speed benchmarks: every figure of one table is measured in the same run, as ratios to the
// machine's own fp32 matmul peak measured first (this machine is shared and noisy).
//   dotnet run -c Release --project bench/Ponder.Bench [-- --checkpoint models/arith --seconds 5 --search --prm-cache [--prm DIR] [--problems 8]]
// --profile prints only where a decode step's time goes, by op category (see DecodeProfile).
// --vs-llama runs only sections 1 and 4 (the machine peak, then decode against llama.cpp); --batches 1,8,32 picks section 4's batch sizes.
// --matvec prints only one-row linears at the bench models' shapes, libtorch against Ponder's C# kernel (see MatVecProbe).
// --tiled prints only a batch-64 decode step's linears, libtorch against Ponder's tiled C# kernel (see TiledProbe).
// --decode runs only sections 1 and 3 (the machine peak, then decode at batch 1, 16, 64 and 256; --decode-batches 64 picks them);
//   --train only the peak and training.
// --train-profile prints the peak, then where an SFT step's time goes, with Ponder's C# training kernels and with libtorch's ops
//   (steps alternate), and what its products and attention alone give (see TrainProfile); --train-attention only the attention rows.
// --serve-prefill prints only short requests from C clients (--clients, 8) beside back-to-back prompts of --long-tokens
//   (3000) tokens, every prompt prefilled in one go against long ones a chunk a step (--chunk, 512; --rounds, 3; see ServePrefillBench);
//   with --compare groups, prompts of different lengths joining together padded to the longest against grouped by length;
//   with --compare prefix, short prompts sharing their first --long-tokens tokens with the prefix cache off against on.
// --serve-search prints only plain requests from C clients (--clients, 16) beside back-to-back reasoning_effort=high
//   searches, the searches alone between the batch's steps against beside it taking turns (--rounds, 3; see ServeSearchBench).
// --serve prints only the server under C concurrent clients (--clients 1,4,16,64), one row at a time against continuous
//   batching (see ServeBench).
// --decode-paired prints batch-64 decode's fraction of the matmul peak read just before it, round by round (--rounds,
//   15; --seconds of decode a round; see PairedDecode).
// --row-claims prints batch-64 decode with a fused step's rows in chunks the threads claim (the default) against one
//   fixed share a thread, alternated many times (see RowClaims).
// --kv-prefetch prints batch-64 decode with and without the next head's keys and values prefetched, alternated the same way.
// --room-at-prefill prints batch-64 decode with the KV cache made with room for the decode steps at the prefill against
//   grown when decoding starts, alternated the same way.
// --cpu-time measures rates per CPU-second of this process instead of per wall second (for a shared machine; see BenchClock).
string checkpoint = args.SkipWhile(a => a != "--checkpoint").Skip(1).FirstOrDefault() ?? "models/arith";
double seconds = double.Parse(args.SkipWhile(a => a != "--seconds").Skip(1).FirstOrDefault() ?? "5", System.Globalization.CultureInfo.InvariantCulture);
var device = TorchRuntime.Initialize(args.SkipWhile(a => a != "--device").Skip(1).FirstOrDefault() ?? "cpu");
BenchClock.UseCpuTime = args.Contains("--cpu-time");
Console.WriteLine($"threads: {torch.get_num_threads()}, device {device}, clock: {(BenchClock.UseCpuTime ? "process CPU time" : "wall time")}");
if (args.Contains("--matvec"))
{
    MatVecProbe.Run(seconds / 5);
    return 0;
}
if (args.Contains("--tiled"))
{
    TiledProbe.Run(seconds / 5);
    return 0;
}
if (args.Contains("--attention"))
{
    AttentionProbe.Run(seconds / 3);
    return 0;
}

// 1. Machine peak: large fp32 matmuls (4096² on a GPU, whose kernels run asynchronously: each call waits for them).
//    On a CPU, the higher of two readings on the same shape and threads: libtorch's matmul and Ponder's own tiled kernel
//    (TiledLinear, what a decode step's linears run). libtorch's sgemm does not always use the whole vector width (its
//    oneMKL runs AVX2 code on AMD CPUs, whose Zen 4 and 5 have AVX-512), and a fraction of a reading below what the
//    machine does would overstate how much of it a measurement uses.
bool gpu = device.type == DeviceType.CUDA;
long side = gpu ? 4096 : 1024;
double TorchMatmul(double? over = null) => Measure(over ?? seconds, () =>
{
    using var scope = NewDisposeScope();
    var a = randn(side, side, device: device);
    var b = randn(side, side, device: device);
    for (int i = 0; i < 8; i++) a.matmul(b);
    if (gpu) torch.cuda.synchronize();
    return 8 * 2.0 * side * side * side;
});
double TiledMatmul(double? over = null)
{
    if (gpu) return 0;
    using var scope = NewDisposeScope();
    var (a, b, y) = (randn(side, side), randn(side, side), empty(side, side));
    return Measure(over ?? seconds, () => TiledProduct(a, b, y));
}
double MatmulPeak(string when)
{
    var (torchReading, tiledReading) = (TorchMatmul(), TiledMatmul());
    Console.WriteLine($"fp32 matmul peak{when}: libtorch {torchReading / 1e9:F1} GFLOP/s" + (gpu ? "" : $", Ponder's tiled kernel {tiledReading / 1e9:F1}") + $" ({side}×{side})");
    return Math.Max(torchReading, tiledReading);
}
double peak = MatmulPeak("");

Transformer model;
ITokenizer tokenizer;
string task = "arith";
if (Directory.Exists(checkpoint))
{
    var p = LoadedPolicy.Load(checkpoint, device);
    (model, tokenizer, task) = (p.Model, p.Tokenizer, p.State.Task);
    Console.WriteLine($"model: {checkpoint} ({model.ParameterCount:N0} parameters)");
}
else
{
    tokenizer = new CharTokenizer();
    var sft = SftPresets.Default("", 1);
    model = new Transformer(sft.Model with { VocabSize = tokenizer.VocabSize, BosTokenId = tokenizer.Bos, EosTokenId = tokenizer.Eos, PadTokenId = tokenizer.Pad });
    model.to(device);
    Console.WriteLine($"model: default shape, random weights ({model.ParameterCount:N0} parameters; no checkpoint at {checkpoint})");
}
if (args.Contains("--decode-paired"))
{
    var pairedRounds = int.Parse(args.SkipWhile(a => a != "--rounds").Skip(1).FirstOrDefault() ?? "15");
    PairedDecode.Run(model, tokenizer, task, seconds, pairedRounds, s => Math.Max(TorchMatmul(s / 2), TiledMatmul(s / 2)));
    return 0;
}
if (args.Contains("--row-claims"))
{
    RowClaims.Run(model, tokenizer, task, seconds, peak, MatmulPeak);
    return 0;
}
if (args.Contains("--room-at-prefill"))
{
    RowClaims.RunRoom(model, tokenizer, task, seconds, peak, MatmulPeak);
    return 0;
}
if (args.Contains("--kv-prefetch"))
{
    RowClaims.RunPrefetch(model, tokenizer, task, seconds, peak, MatmulPeak);
    return 0;
}
if (args.Contains("--train-attention"))
{
    TrainProfile.RunAttention(model, 65, seconds);
    return 0;
}
if (args.Contains("--train-profile"))
{
    TrainProfile.Run(model, tokenizer, TaskRegistry.Create(task), seconds);
    return 0;
}
if (args.Contains("--serve-prefill"))
{
    // A model of the default shape with random weights and a context long enough for the long prompts.
    var longTokens = int.Parse(args.SkipWhile(a => a != "--long-tokens").Skip(1).FirstOrDefault() ?? "3000");
    var chunkTokens = int.Parse(args.SkipWhile(a => a != "--chunk").Skip(1).FirstOrDefault() ?? LocalPolicy.DefaultPrefillChunk.ToString(System.Globalization.CultureInfo.InvariantCulture));
    if (chunkTokens <= 0) throw new ArgumentException("--chunk must be at least 1 (the other setting is 0)");
    var chars = new CharTokenizer();
    var shape = SftPresets.Default("", 1).Model;
    using var longContext = new Transformer(shape with { VocabSize = chars.VocabSize, BosTokenId = chars.Bos, EosTokenId = chars.Eos, PadTokenId = chars.Pad, MaxPositions = longTokens + 256 });
    longContext.eval();
    ServePrefillBench.Run(chars, longContext, TaskRegistry.Create(task),
        int.Parse(args.SkipWhile(a => a != "--clients").Skip(1).FirstOrDefault() ?? "8"), seconds,
        int.Parse(args.SkipWhile(a => a != "--rounds").Skip(1).FirstOrDefault() ?? "3"), longTokens, chunkTokens,
        args.SkipWhile(a => a != "--compare").Skip(1).FirstOrDefault() ?? "chunks");
    return 0;
}
if (args.Contains("--serve-search"))
{
    var searchClients = int.Parse(args.SkipWhile(a => a != "--clients").Skip(1).FirstOrDefault() ?? "16");
    var searchRounds = int.Parse(args.SkipWhile(a => a != "--rounds").Skip(1).FirstOrDefault() ?? "3");
    ServeSearchBench.Run(model, tokenizer, TaskRegistry.Create(task), searchClients, seconds, searchRounds);
    return 0;
}
if (args.Contains("--serve"))
{
    int[] clients = (args.SkipWhile(a => a != "--clients").Skip(1).FirstOrDefault() ?? "1,4,16,64").Split(',').Select(int.Parse).ToArray();
    ServeBench.Run(model, tokenizer, TaskRegistry.Create(task), clients, seconds);
    return 0;
}
if (args.Contains("--profile"))
{
    DecodeProfile.Run(model, [1, 16, 64], seconds / 10);
    return 0;
}
var arith = TaskRegistry.Create(task);
var rows = new List<(string Name, double TokensPerSecond, double FlopsPerToken)>();
var decode = new List<(int Batch, Rates Before, Rates After, Rates F32, Rates Fixed)>();
bool decodeOnly = args.Contains("--decode");
bool trainOnly = args.Contains("--train");
if (!args.Contains("--vs-llama"))
{
    // 2. Training throughput (forward + backward + AdamW) on SFT batches of 64: with Ponder's C# training nodes (the
    //    default of train sft and train rl; Transformer.TrainingKernels: rotary + attention, RMS norms and SwiGLU gating
    //    as C# autograd nodes), the examples packed into one row (the default of train sft) or padded to rows, and with
    //    libtorch's ops, alternated, best of two.
    if (!decodeOnly)
    {
        var optimizer = new AdamW(model.named_parameters().Select(p => (p.name, (Tensor)p.parameter)));
        model.train();
        long step = 0;
        double flopsPerToken = 3 * model.FlopsPerToken(64);
        // One SFT step on the next batch, its examples padded to rows or packed into one row (SftBatch.Pack, on the C#
        // training nodes only); the tokens it trained on (padding excluded).
        double Step(bool kernels, bool packed = false)
        {
            using var scope = NewDisposeScope();
            model.TrainingKernels = kernels;
            var examples = SftTrainer.BatchExamples(arith, 1, ++step, 64);
            Tensor inputs, targets, logits;
            if (packed)
            {
                (inputs, targets, _, var rows) = SftBatch.Pack(tokenizer, examples, device);
                logits = model.Packed(inputs, rows);
            }
            else
            {
                (inputs, targets, _) = SftBatch.Build(tokenizer, examples, device);
                logits = model.call(inputs);
            }
            var loss = nn.functional.cross_entropy(logits.view(-1, model.Config.VocabSize), targets.view(-1), ignore_index: SftBatch.Ignore);
            loss.backward();
            optimizer.Update(1e-4);
            optimizer.ZeroGrad();
            return inputs.ne(tokenizer.Pad).sum().item<long>();
        }
        double Train(bool kernels, bool packed = false) => Measure(seconds / 2, () => Step(kernels, packed));
        // Warm-up: glibc's heap grows for the first hundred or so steps (tensor sizes vary with each batch's width), and
        // every fresh page costs a fault; measure after it settles, as a long run does.
        for (int i = 0; i < 120; i++) Step(kernels: i % 3 != 1, packed: i % 3 == 2);
        double ours = 0, theirs = 0, packedRate = 0;
        for (int round = 0; round < 2; round++)
            (ours, theirs, packedRate) = (Math.Max(ours, Train(kernels: true)), Math.Max(theirs, Train(kernels: false)),
                gpu ? 0 : Math.Max(packedRate, Train(kernels: true, packed: true)));
        model.TrainingKernels = false;
        if (!gpu) rows.Add(("train (batch 64), C# training nodes, examples packed into one row (the default)", packedRate, flopsPerToken));
        rows.Add(("train (batch 64), C# training nodes, examples padded to rows (--no-pack)", ours, flopsPerToken));
        rows.Add(("train (batch 64), libtorch's ops (--no-training-kernels)", theirs, flopsPerToken));
        model.eval();
    }

    // 3. Decode throughput at several batch sizes: sampled continuations of held-out prompts, with the C# decode
    //    kernels (small-row linears and ops, cached attention, the default bfloat16 KV cache) on (the default) and off
    //    (libtorch's ops with fused projections, a float32 cache), and with the kernels and an exact float32 cache
    //    (--kv-cache f32), measured back to back. Rows end at EOS, so a batch thins out as it runs; the last column is
    //    fixed-length generation (EOS ignored, every row runs all 64 tokens, as vLLM's throughput benchmark and
    //    llama-bench measure decode). The first table counts the prompts' prefill in the time (as vLLM's throughput
    //    benchmark); the second times the decode loop alone (as llama-bench's tg) and the prefill alone (its pp).
    var problems = arith.Problems(Split.Test, 256, 0);
    var generator = new Ponder.Policy.Generator(model, tokenizer);
    int[] decodeBatches = (args.SkipWhile(a => a != "--decode-batches").Skip(1).FirstOrDefault() ?? "1,16,64,256").Split(',').Select(int.Parse).ToArray();
    foreach (int batch in trainOnly ? [] : decodeBatches)
    {
        var prompts = problems.Take(batch).Select(p => Prompting.Encode(tokenizer, p.Prompt)).ToList();
        var options = new SamplingOptions { Temperature = 1.0, MaxNewTokens = 64, Seed = 1 };
        // End-to-end tokens/s (prefill included, as vLLM's throughput benchmark), and the decode loop's and the
        // prefill's own rates (the generator times each part, as llama-bench's tg and pp; wall time in either clock mode).
        Rates Decode(bool fast, ScalarType? cache = null, bool fixedLength = false)
        {
            (model.SmallRowKernels, model.KvCacheType) = (fast, cache);
            var o = options with { IgnoreEos = fixedLength };
            var (calls, decoded, prefilled, decodeTime, prefillTime) = (0, 0L, 0L, TimeSpan.Zero, TimeSpan.Zero);
            var endToEnd = Measure(seconds, () =>
            {
                generator.ResetCounters();
                generator.Generate(prompts, o);
                if (calls++ == 0) return generator.DecodeTokens;                 // Measure's warm-up call
                (decoded, prefilled) = (decoded + generator.DecodeTokens, prefilled + generator.PrefillTokens);
                (decodeTime, prefillTime) = (decodeTime + generator.DecodeTime, prefillTime + generator.PrefillTime);
                return generator.DecodeTokens;
            });
            return new Rates(endToEnd, decoded / decodeTime.TotalSeconds, prefilled / prefillTime.TotalSeconds);
        }
        Rates before = default, after = default, f32 = default, fixedLength = default;
        for (int round = 0; round < 2; round++)   // alternated, best of two: other jobs only ever slow a measurement down
            (before, after, f32, fixedLength) = (before.Max(Decode(fast: false)), after.Max(Decode(fast: true)),
                gpu ? default : f32.Max(Decode(fast: true, ScalarType.Float32)), fixedLength.Max(Decode(fast: true, fixedLength: true)));
        decode.Add((batch, before, after, f32, fixedLength));
    }
    (model.SmallRowKernels, model.KvCacheType) = (true, null);
}

if (decode.Count > 0 || trainOnly)
{
    // The peak again, after the rows: other jobs only ever slow a reading down, so the fractions take the higher one.
    double again = MatmulPeak(" again, after the rows");
    Console.WriteLine($"fractions below are of {Math.Max(peak, again) / 1e9:F1} GFLOP/s, the highest reading");
    peak = Math.Max(peak, again);
    if (rows.Count > 0)
    {
        Console.WriteLine();
        Console.WriteLine("| measurement | tokens/s | fraction of matmul peak |");
        Console.WriteLine("|---|---|---|");
        foreach (var (name, tps, flops) in rows) Console.WriteLine($"| {name} | {tps:N0} | {tps * flops / peak:P1} |");
    }
    if (decode.Count == 0) return 0;
    Console.WriteLine();
    Console.WriteLine("| decode, prefill included | tokens/s before (libtorch's ops) | tokens/s (C# decode kernels) | after / before | fraction of matmul peak (after) | tokens/s, f32 KV cache | fraction of peak, f32 cache | tokens/s, fixed length (EOS ignored) | fraction of peak, fixed length |");
    Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
    double Fraction(double tps) => tps * model.FlopsPerToken(64) / peak;
    foreach (var (batch, before, after, f32, fixedLength) in decode)
        Console.WriteLine($"| batch {batch} | {before.EndToEnd:N0} | {after.EndToEnd:N0} | {after.EndToEnd / before.EndToEnd:F2} | {Fraction(after.EndToEnd):P1} | {f32.EndToEnd:N0} | {Fraction(f32.EndToEnd):P1} | {fixedLength.EndToEnd:N0} | {Fraction(fixedLength.EndToEnd):P1} |");
    Console.WriteLine();
    Console.WriteLine("| decode alone (prefill excluded, as llama-bench's tg) | tokens/s before | tokens/s (C# decode kernels) | fraction of matmul peak | tokens/s, fixed length | fraction of peak, fixed length | prefill tokens/s (C#, as llama-bench's pp) |");
    Console.WriteLine("|---|---|---|---|---|---|---|");
    foreach (var (batch, before, after, _, fixedLength) in decode)
        Console.WriteLine($"| batch {batch} | {before.Decode:N0} | {after.Decode:N0} | {Fraction(after.Decode):P1} | {fixedLength.Decode:N0} | {Fraction(fixedLength.Decode):P1} | {after.Prefill:N0} |");
}

// 4. Decode against llama.cpp on the same weights (exported to F32 GGUF) and threads: this model and a wider one.
//    llama.cpp runs here on the CPU (LLamaSharp.Backend.Cpu), so on a GPU the comparison would measure nothing useful.
if (gpu || decodeOnly || trainOnly)
{
    Console.WriteLine();
    if (gpu) Console.WriteLine("(device is CUDA: the llama.cpp comparison, a CPU one, is skipped)");
    return 0;
}
Console.WriteLine();
Console.WriteLine($"Ponder vs llama.cpp (LLamaSharp CPU), greedy decode, {torch.get_num_threads()} thread(s):");
torch.manual_seed(0);
using var wide = new Transformer(new TransformerConfig
{
    VocabSize = tokenizer.VocabSize, HiddenSize = 512, IntermediateSize = 1408, NumLayers = 8, NumHeads = 8, NumKvHeads = 8,
    MaxPositions = 256, BosTokenId = tokenizer.Bos, EosTokenId = tokenizer.Eos, PadTokenId = tokenizer.Pad,
});
wide.to(device).eval();
var versus = new List<(string Model, int Batch, double Before, double Ponder, double LlamaCpp)>();
int[] versusBatches = (args.SkipWhile(a => a != "--batches").Skip(1).FirstOrDefault() ?? "1,8,32").Split(',').Select(int.Parse).ToArray();
versus.AddRange(LlamaCppComparison.Run(model, tokenizer, $"{model.ParameterCount / 1e6:F1}M", versusBatches, decodeSteps: 32, seconds));
versus.AddRange(LlamaCppComparison.Run(wide, tokenizer, $"{wide.ParameterCount / 1e6:F1}M", versusBatches, decodeSteps: 32, seconds));
Console.WriteLine();
Console.WriteLine("| model | batch | Ponder tokens/s before (libtorch linears) | Ponder tokens/s | llama.cpp tokens/s | Ponder / llama.cpp | before / llama.cpp |");
Console.WriteLine("|---|---|---|---|---|---|---|");
foreach (var (name, batch, before, ponder, llama) in versus)
    Console.WriteLine($"| {name} | {batch} | {before:N0} | {ponder:N0} | {llama:N0} | {ponder / llama:F2} | {before / llama:F2} |");
if (args.Contains("--search")) SearchBench.Run(model, tokenizer, arith);
if (args.Contains("--prm-cache"))
    SearchBench.PrmCache(model, tokenizer, arith, args.SkipWhile(a => a != "--prm").Skip(1).FirstOrDefault(),
        int.Parse(args.SkipWhile(a => a != "--problems").Skip(1).FirstOrDefault() ?? "8", System.Globalization.CultureInfo.InvariantCulture));
return 0;

// y = a·bᵀ on Ponder's tiled kernel over torch's threads, in blocks of 64 rows by 128 outputs (a block's operands,
// 768 kB, stay in a core's L2 cache, as a blocked sgemm's would); FLOPs done.
static unsafe double TiledProduct(Tensor a, Tensor b, Tensor y)
{
    var n = (int)a.size(0);
    var (ap, bp, yp) = ((nint)Address(a), (nint)Address(b), (nint)Address(y));
    RowWorkers.ForBlocks(n, 128, Math.Max(1, torch.get_num_threads()), (from, to) =>
    {
        for (var o = from; o < to; o += 128)
            for (var r = 0; r < n; r += 64)
                TiledLinear.Compute((float*)ap + (long)r * n, Math.Min(64, n - r), (float*)bp, null, (float*)yp + (long)r * n, n, n, o, Math.Min(to, o + 128), accumulate: false);
    });
    return 2.0 * n * n * n;

    static float* Address(Tensor t) => (float*)SmallRowOps.Address(t);
}

// Runs work() (returns units done) repeatedly for about `budget` seconds after one warm-up call; units per second.
static double Measure(double budget, Func<double> work)
{
    work();
    double units = 0;
    var clock = BenchClock.StartNew();
    do units += work(); while (clock.Elapsed.TotalSeconds < budget);
    return units / clock.Elapsed.TotalSeconds;
}

/// <summary>A generation's tokens/s: end to end (prefill included), of its decode loop alone, and of its prefill.</summary>
internal readonly record struct Rates(double EndToEnd, double Decode, double Prefill)
{
    /// <summary>Each rate's best of two measurements (other jobs only ever slow one down).</summary>
    public Rates Max(Rates other) => new(Math.Max(EndToEnd, other.EndToEnd), Math.Max(Decode, other.Decode), Math.Max(Prefill, other.Prefill));
}
