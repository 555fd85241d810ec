using System.Runtime.CompilerServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Ponder.Policy;

/// <summary>
/// A whole cached append of a float32 model on the CPU in C# (a decode step of one token a row, or a prompt's
/// prefill), with no libtorch op between the embedding and the final norm: each thread takes chunks of the batch's rows
/// and runs every layer on them (rows are independent: a row attends only to its own cache), so an append costs one
/// fork and join instead of some sixty libtorch calls, each of which parks or wakes libtorch's worker threads.
/// </summary>
/// <remarks>
/// The layers' arithmetic is <see cref="SmallRowOps"/>' (norms, rotary, gating, cached attention) and
/// <see cref="TiledLinear"/>'s (the projections, the residual adds folded into o_proj and down_proj); rotary angles come
/// from <see cref="Rotary"/>'s tables and the attention mask from the cache's slot validity, as the module path builds
/// them. Results match the module path within rounding and do not depend on the thread count: each row is computed by
/// one thread, each output in a fixed order. A row whose new slots are all padding is not computed (its hidden states
/// are zeros; no real query attends to those slots). <see cref="Applies"/> says when it may run; <see cref="Decoder"/> takes the
/// module path otherwise.
/// </remarks>
internal static class FusedAppend
{
    /// <summary>Token rows a thread takes at least: below this a second thread's start costs more than its share.</summary>
    public const int MinRowsPerThread = 8;

    /// <summary>Scratch floats an append may use (64 MiB); a longer prefill of a larger model takes the module path.</summary>
    public const long MaxScratchFloats = 1L << 24;

    private static long _calls;

    /// <summary>
    /// Whether threads claim chunks of rows as they come free (the default) rather than each taking one fixed share:
    /// the same results either way; the benchmark's <c>--row-claims</c> compares the two.
    /// </summary>
    internal static bool ClaimedChunks = true;

    /// <summary>Appends computed here so far in this process (tests check which path an append took).</summary>
    public static long Calls => Interlocked.Read(ref _calls);

    /// <summary>The pointers one layer reads (biases may be zero).</summary>
    private readonly record struct Layer(nint AttentionNorm, nint Qkv, nint QkvBias, nint Output, nint OutputBias,
        nint MlpNorm, nint GateUp, nint Down, LayerCache Cache);

    /// <summary>A layer's cache buffers (B, nkv, Capacity, hs) and their element type.</summary>
    private readonly record struct LayerCache(nint Keys, nint Values, bool Bf16);

    /// <summary>
    /// Whether an append of <paramref name="inputIds"/> (B, T) to <paramref name="cache"/> can run here (checked before
    /// the append starts): no gradients, CPU, float32 weights and activations, a float32 or bfloat16 cache, widths that
    /// are whole vectors, and scratch within <see cref="MaxScratchFloats"/>.
    /// </summary>
    public static bool Applies(TransformerConfig config, Tensor inputIds, KvCache cache, ScalarType dtype)
    {
        if (is_grad_enabled() || dtype != ScalarType.Float32 || inputIds.device_type != DeviceType.CPU || cache.Device.type != DeviceType.CPU) return false;
        if (inputIds.dim() != 2 || inputIds.dtype != ScalarType.Int64 || !inputIds.is_contiguous() || inputIds.numel() == 0) return false;
        if (cache.DType is not (ScalarType.Float32 or ScalarType.BFloat16)) return false;
        if (!TiledLinear.Fits(config.HiddenSize) || !TiledLinear.Fits(config.NumHeads * config.HeadDim) || !TiledLinear.Fits(config.IntermediateSize)) return false;
        var t = inputIds.size(1);
        return inputIds.numel() * (Shape.Floats(config) + cache.Length + t) <= MaxScratchFloats;
    }

    /// <summary>
    /// Final-normed hidden states (B, T, C) of <paramref name="inputIds"/> appended to <paramref name="cache"/>, an
    /// append in progress (<see cref="KvCache.BeginAppend"/> gave <paramref name="positions"/> (B, T) and marked the
    /// new slots' validity). Check <see cref="Applies"/> first.
    /// </summary>
    public static Tensor Run(Decoder decoder, TransformerConfig config, Rotary rotary, Tensor inputIds, Tensor positions, KvCache cache) =>
        Run(decoder, config, rotary, inputIds, positions, cache, head: null).Hidden;

    /// <summary>
    /// <see cref="Run(Decoder, TransformerConfig, Rotary, Tensor, Tensor, KvCache)"/>, and with <paramref name="head"/>
    /// (V, C) the logits (B, V) of a one-token append computed in the same pass, each thread its rows' (null when the
    /// append has more than one token a row, a padding row, or a head that <see cref="TiledLinear"/> cannot read).
    /// They equal <see cref="TiledLinear.Forward"/> on the hidden states bit for bit: the threads' rows start at
    /// multiples of four, so every row falls in the same four-row tile (or the same tail) as there.
    /// </summary>
    public static unsafe (Tensor Hidden, Tensor? Logits) Run(Decoder decoder, TransformerConfig config, Rotary rotary, Tensor inputIds,
        Tensor positions, KvCache cache, Tensor? head)
    {
        var (b, t) = ((int)inputIds.size(0), (int)inputIds.size(1));
        var vocab = config.VocabSize;
        var ids = (long*)Address(inputIds);
        for (var r = 0; r < b * t; r++)
            if (ids[r] < 0 || ids[r] >= vocab) throw new ArgumentException($"Token id {ids[r]} is outside the vocabulary (0..{vocab - 1}).", nameof(inputIds));
        Interlocked.Increment(ref _calls);

        var layers = decoder.Layers.Select((block, i) =>
        {
            var (keys, values, _, _) = cache.Buffers(i);
            var (qkv, qkvBias) = block.Attention.QkvWeights();
            var output = block.Attention.OutputProjection;
            return new Layer(Address(block.AttentionNorm.Weight), Address(qkv), Address(qkvBias), Address(output.weight), Address(output.bias),
                Address(block.MlpNorm.Weight), Address(block.Mlp.GateUpWeight()), Address(block.Mlp.OutputProjection.weight),
                new LayerCache(Address(keys), Address(values), keys.dtype == ScalarType.BFloat16));
        }).ToArray();
        var (cos, sin) = rotary.CpuTables;                                            // (P, hs)
        var (valid, start) = (cache.Slots, cache.Length);                            // (B, Capacity) bool
        var positionsC = positions.is_contiguous() ? positions : positions.contiguous(); // (B, T)
        // Rows whose every new slot is padding (a finished row a generator still feeds) are not computed: no real query
        // ever attends to their slots, and their hidden states are zeros.
        var live = LiveRows((bool*)Address(valid), b, t, start, cache.Capacity);
        var rows = live?.Length ?? b;
        var output = (live is null ? empty([b, t, config.HiddenSize], ScalarType.Float32) : zeros([b, t, config.HiddenSize], ScalarType.Float32)); // (B, T, C)
        if (rows == 0) return (output, null);
        var withHead = head is not null && t == 1 && live is null && head.dtype == ScalarType.Float32 && head.device_type == DeviceType.CPU
            && head.dim() == 2 && head.is_contiguous() && head.size(1) == config.HiddenSize;
        var logits = withHead ? empty([b, head!.size(0)], ScalarType.Float32) : null;                  // (B, V)
        var shape = new Shape(config, rows, t, start, cache.Capacity, rotary.MaxPositions);
        var scratch = Scratch((long)rows * t * (Shape.Floats(config) + shape.Columns));
        fixed (int* map = live)
        {
            var step = new Append(shape, layers, Address(decoder.Embedding.weight!), Address(decoder.Norm.Weight), (nint)ids,
                Address(positionsC), Address(valid), Address(cos), Address(sin), Address(output), (nint)Unsafe.AsPointer(ref scratch[0]), (nint)map,
                withHead ? Address(head) : 0, withHead ? (int)head!.size(0) : 0, Address(logits));
            var available = Math.Max(1, get_num_threads());
            var threads = Math.Min(Math.Min(available, rows), Math.Max(1, rows * t / MinRowsPerThread));
            if (threads <= 1) Rows(step with { OutputThreads = available }, 0, rows);
            else if (!ClaimedChunks)
            {
                int First(int part) => part == threads ? rows : withHead ? (int)((long)rows * part / threads) / 4 * 4 : (int)((long)rows * part / threads);
                RowWorkers.For(threads, part => Rows(step, First(part), First(part + 1)));
            }
            else
            {
                // The rows go in chunks that the threads claim as they come free, so a thread that starts late or is
                // descheduled (another process on its core) leaves its share to the others instead of stalling the
                // append: two chunks a thread where each still has MinRowsPerThread tokens, else one; with the head,
                // whole four-row tiles (the head's tiles are the whole batch's).
                var chunk = (rows + 2 * threads - 1) / (2 * threads);
                if (chunk * t < MinRowsPerThread) chunk = (rows + threads - 1) / threads;
                if (withHead) chunk = (chunk + 3) / 4 * 4;
                var chunks = (rows + chunk - 1) / chunk;
                var claimed = new StrongBox<int>(0);
                RowWorkers.For(Math.Min(threads, chunks), _ =>
                {
                    for (int k; (k = Interlocked.Increment(ref claimed.Value) - 1) < chunks;) Rows(step, k * chunk, Math.Min(rows, (k + 1) * chunk));
                });
            }
        }
        GC.KeepAlive(scratch);
        GC.KeepAlive(positionsC);
        return (output, logits);
    }

    // The rows with at least one real slot among the new columns [start, start + t), or null when every row has one.
    private static unsafe int[]? LiveRows(bool* valid, int b, int t, int start, int capacity)
    {
        bool Live(int row)
        {
            for (var i = 0; i < t; i++)
                if (valid[(long)row * capacity + start + i]) return true;
            return false;
        }
        var count = 0;
        for (var row = 0; row < b; row++)
            if (Live(row)) count++;
        if (count == b) return null;
        var rows = new int[count];
        for (int row = 0, k = 0; row < b; row++)
            if (Live(row)) rows[k++] = row;
        return rows;
    }

    /// <summary>
    /// An append's sizes: B rows of T tokens, written at cache columns [Start, Start + T) of Capacity. A token row of
    /// scratch holds its residual, normed input, q/k/v, attention output, gate/up and gated activations, then its
    /// attention mask over the Columns it sees.
    /// </summary>
    private readonly record struct Shape(int Batch, int Tokens, int Hidden, int Heads, int KvHeads, int HeadDim, int Intermediate,
        int Start, int Capacity, int MaxPositions, float Eps)
    {
        public Shape(TransformerConfig c, int batch, int tokens, int start, int capacity, int maxPositions)
            : this(batch, tokens, c.HiddenSize, c.NumHeads, c.NumKvHeads, c.HeadDim, c.IntermediateSize, start, capacity, maxPositions, (float)c.RmsNormEps)
        {
        }

        public int QkvWidth => (Heads + 2 * KvHeads) * HeadDim;
        public int AttentionWidth => Heads * HeadDim;
        public int Columns => Start + Tokens;

        /// <summary>Scratch floats a token row needs before its mask.</summary>
        public static int Floats(TransformerConfig c) =>
            2 * c.HiddenSize + (c.NumHeads + 2 * c.NumKvHeads) * c.HeadDim + c.NumHeads * c.HeadDim + 3 * c.IntermediateSize;
    }

    /// <summary>
    /// An append's inputs and outputs. The shape's rows are the batch's rows <paramref name="BatchRows"/>[r] (int*; zero:
    /// all of them, in order): the scratch holds only those, and ids, positions, slots, cache and output are read and
    /// written at the batch row. <paramref name="OutputThreads"/> above one splits each large linear's outputs over
    /// that many threads (an append of too few rows to split: batch 1 of a model whose weights do not fit the caches).
    /// </summary>
    private readonly record struct Append(Shape Shape, Layer[] Layers, nint Embedding, nint FinalNorm, nint Ids, nint Positions,
        nint Valid, nint Cos, nint Sin, nint Output, nint Scratch, nint BatchRows, nint Head, int Vocabulary, nint Logits, int OutputThreads = 1);

    // Batch rows [first, end), their T tokens each, through every layer: the scratch holds (B·T, ·) arrays side by side,
    // each thread its own rows.
    private static unsafe void Rows(Append step, int first, int end)
    {
        var s = step.Shape;
        var (b, t, c, w, a, i2, i) = (s.Batch, s.Tokens, s.Hidden, s.QkvWidth, s.AttentionWidth, 2 * s.Intermediate, s.Intermediate);
        var (bt, columns, hs) = ((long)b * t, s.Columns, s.HeadDim);
        var (r0, r1) = (first * t, end * t);                                        // token rows
        var n = r1 - r0;
        var x = (float*)step.Scratch;                     // (B·T, C) residual stream
        var h = x + bt * c;                               // (B·T, C) normed
        var qkv = h + bt * c;                             // (B·T, W)
        var att = qkv + bt * w;                           // (B·T, nh·hs)
        var gu = att + bt * a;                            // (B·T, 2I)
        var act = gu + bt * i2;                           // (B·T, I)
        var mask = act + bt * i;                          // (B·T, S) additive attention mask
        var ids = (long*)step.Ids;
        var positions = (long*)step.Positions;
        var valid = (bool*)step.Valid;
        var embedding = (float*)step.Embedding;
        var batchRows = (int*)step.BatchRows;
        long Token(int r) => batchRows is null ? r : (long)batchRows[r / t] * t + r % t;    // the batch's token of scratch row r
        for (var r = r0; r < r1; r++)
        {
            new Span<float>(embedding + ids[Token(r)] * c, c).CopyTo(new Span<float>(x + (long)r * c, c));
            // Token r (column Start + r % T of its batch row) sees the row's real columns up to its own, and always its own slot.
            var (row, own) = (Token(r) / t, s.Start + r % t);
            var m = mask + (long)r * columns;
            for (var col = 0; col < columns; col++)
                m[col] = col == own || (col < own && valid[(long)row * s.Capacity + col]) ? 0f : float.NegativeInfinity;
        }
        foreach (var layer in step.Layers)
        {
            for (var r = r0; r < r1; r++) SmallRowOps.RmsNormRow(x + (long)r * c, (float*)layer.AttentionNorm, s.Eps, h + (long)r * c, c);
            Linear(step, h + (long)r0 * c, n, (float*)layer.Qkv, (float*)layer.QkvBias, qkv + (long)r0 * w, w, c, accumulate: false);
            for (var r = r0; r < r1; r++)
            {
                var p = Math.Clamp(positions[Token(r)], 0, s.MaxPositions - 1);
                SmallRowOps.RotateHeads(qkv + (long)r * w, s.Heads + s.KvHeads, hs, (float*)step.Cos + p * hs, (float*)step.Sin + p * hs);
            }
            var job = new SmallRowOps.AttentionJob((nint)qkv, layer.Cache.Keys, layer.Cache.Values, (nint)mask, (nint)att, t, s.Heads,
                s.KvHeads, hs, s.Capacity, s.Start, t, columns, step.BatchRows);
            SmallRowOps.AttendRows(job, layer.Cache.Bf16, first, end);
            Linear(step, att + (long)r0 * a, n, (float*)layer.Output, (float*)layer.OutputBias, x + (long)r0 * c, c, a, accumulate: true);
            for (var r = r0; r < r1; r++) SmallRowOps.RmsNormRow(x + (long)r * c, (float*)layer.MlpNorm, s.Eps, h + (long)r * c, c);
            Linear(step, h + (long)r0 * c, n, (float*)layer.GateUp, null, gu + (long)r0 * i2, i2, c, accumulate: false);
            for (var r = r0; r < r1; r++) SmallRowOps.SiluGateRow(gu + (long)r * i2, gu + (long)r * i2 + i, act + (long)r * i, i);
            Linear(step, act + (long)r0 * i, n, (float*)layer.Down, null, x + (long)r0 * c, c, i, accumulate: true);
        }
        for (var r = r0; r < r1; r++) SmallRowOps.RmsNormRow(x + (long)r * c, (float*)step.FinalNorm, s.Eps, (float*)step.Output + Token(r) * c, c);
        if (step.Head != 0)                                                               // one token a row, every row live
            Linear(step, (float*)step.Output + (long)r0 * c, n, (float*)step.Head, null, (float*)step.Logits + (long)r0 * step.Vocabulary, step.Vocabulary, c, accumulate: false);
    }

    private static unsafe void Linear(Append step, float* x, int rows, float* w, float* b, float* y, int outF, int inF, bool accumulate) =>
        TiledLinear.Compute(x, rows, w, b, y, outF, inF, accumulate, step.OutputThreads);

    private static nint Address(Tensor? t) => SmallRowOps.Address(t);

    [ThreadStatic] private static float[]? _scratch;

    /// <summary>Scratch floats a thread keeps between appends (16 MiB, a decode step of a large batch); a larger prefill's is freed after it.</summary>
    private const long KeptScratchFloats = 1L << 22;

    // Scratch of at least `floats`, pinned so that its address is stable: the calling thread's own, reused across
    // appends, unless it is larger than a thread keeps.
    private static float[] Scratch(long floats)
    {
        if (floats > KeptScratchFloats) return GC.AllocateUninitializedArray<float>((int)floats, pinned: true);
        if (_scratch is null || _scratch.LongLength < floats) _scratch = GC.AllocateUninitializedArray<float>((int)floats, pinned: true);
        return _scratch;
    }
}
