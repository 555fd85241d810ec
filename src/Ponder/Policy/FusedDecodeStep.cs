using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Ponder.Policy;

/// <summary>
/// A whole decode step (one token a row, any batch) of a float32 model on the CPU in C#, with no libtorch op between
/// the embedding and the final norm: each thread takes a share of the rows and runs every layer on them (rows of a
/// decode step are independent: a row attends only to its own cache), so a step costs one fork and join instead of
/// some sixty libtorch calls, each of which parks or wakes libtorch's worker threads.
/// </summary>
/// <remarks>
/// The layers' arithmetic is <see cref="SmallRowOps"/>' (norms, rotary, gating, cached attention) and
/// <see cref="TiledLinear"/>'s (the projections, the residual adds folded into o_proj and down_proj). Results match
/// the libtorch path within rounding and do not depend on the thread count: each row is computed by one thread, each
/// output in a fixed order. <see cref="Applies"/> says when it may run; <see cref="Decoder"/> falls back to the
/// module path otherwise.
/// </remarks>
internal static class FusedDecodeStep
{
    /// <summary>Rows a thread takes at least: below this a second thread's start costs more than its share.</summary>
    public const int MinRowsPerThread = 8;

    private static long _calls;

    /// <summary>Steps computed here so far in this process (tests check which path a step took).</summary>
    public static long Calls => Interlocked.Read(ref _calls);

    /// <summary>The pointers one layer's step reads (biases may be zero).</summary>
    private readonly record struct Layer(nint AttentionNorm, nint Qkv, nint QkvBias, nint Output, nint OutputBias,
        nint MlpNorm, nint GateUp, nint Down, LayerCache Cache);

    /// <summary>A layer's cache buffers (B, nkv, Capacity, hs) and their element type.</summary>
    private readonly record struct LayerCache(nint Keys, nint Values, int Capacity, bool Bf16);

    /// <summary>
    /// Whether a step of <paramref name="inputIds"/> (B, 1) with these rotary rows (B, 1, 1, hs), additive mask
    /// (B, 1, g, S) and cache can run here: CPU, float32 weights and activations, widths that are whole vectors.
    /// </summary>
    public static bool Applies(TransformerConfig config, Tensor inputIds, Tensor cos, Tensor sin, Tensor mask, KvCache cache, ScalarType dtype)
    {
        if (is_grad_enabled() || dtype != ScalarType.Float32 || inputIds.device_type != DeviceType.CPU) return false;
        if (inputIds.dim() != 2 || inputIds.size(1) != 1 || inputIds.dtype != ScalarType.Int64 || !inputIds.is_contiguous()) return false;
        var (b, hs) = (inputIds.size(0), config.HeadDim);
        if (!SmallRowOps.Plain(cos, hs) || !SmallRowOps.Plain(sin, hs) || cos.numel() != b * hs || sin.numel() != b * hs) return false;
        if (!SmallRowOps.Plain(mask, mask.size(-1)) || mask.size(0) != b || mask.size(2) != config.NumHeads / config.NumKvHeads) return false;
        if (!TiledLinear.Fits(config.HiddenSize) || !TiledLinear.Fits(config.NumHeads * hs) || !TiledLinear.Fits(config.IntermediateSize)) return false;
        return SmallRowOps.CachedAttentionFits(cache, 0, mask);
    }

    /// <summary>
    /// Final-normed hidden states (B, 1, C) of one token a row appended to <paramref name="cache"/> (an append in
    /// progress, see <see cref="KvCache.BeginAppend"/>). Check <see cref="Applies"/> first.
    /// </summary>
    public static unsafe Tensor Run(Decoder decoder, TransformerConfig config, Tensor inputIds, Tensor cos, Tensor sin, Tensor mask, KvCache cache)
    {
        var b = (int)inputIds.size(0);
        var (c, nh, nkv, hs, inter, vocab) = (config.HiddenSize, config.NumHeads, config.NumKvHeads, config.HeadDim, config.IntermediateSize, config.VocabSize);
        var ids = (long*)Address(inputIds);
        for (var r = 0; r < b; r++)
            if (ids[r] < 0 || ids[r] >= vocab) throw new ArgumentException($"Token id {ids[r]} is outside the vocabulary (0..{vocab - 1}).", nameof(inputIds));
        Interlocked.Increment(ref _calls);

        var layers = decoder.Layers.Select((block, i) =>
        {
            var (keys, values, _, _) = cache.Buffers(i);
            var (qkv, qkvBias) = block.Attention.QkvWeights();
            return new Layer(Address(block.AttentionNorm.Weight), Address(qkv), Address(qkvBias), Address(block.Attention.OutputProjection.weight!),
                Address(block.Attention.OutputProjection.bias), Address(block.MlpNorm.Weight), Address(block.Mlp.GateUpWeight()),
                Address(block.Mlp.OutputProjection.weight!), new LayerCache(Address(keys), Address(values), (int)keys.size(2), keys.dtype == ScalarType.BFloat16));
        }).ToArray();
        var output = empty([b, 1, c], ScalarType.Float32);                           // (B, 1, C)
        var shape = new Shape(b, c, nh, nkv, hs, inter, cache.Length, (int)mask.size(2), (int)mask.size(3), (float)config.RmsNormEps);
        var scratch = Scratch((long)b * shape.RowFloats);
        var step = new Step(shape, layers, Address(decoder.Embedding.weight!), Address(decoder.Norm.Weight), (nint)ids,
            Address(cos), Address(sin), Address(mask), Address(output), (nint)Unsafe.AsPointer(ref scratch[0]));
        var available = Math.Max(1, get_num_threads());
        var threads = Math.Min(available, Math.Max(1, b / MinRowsPerThread));
        if (threads <= 1) Rows(step with { OutputThreads = available }, 0, b);
        else
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads },
                part => Rows(step, (int)((long)b * part / threads), (int)((long)b * (part + 1) / threads)));
        GC.KeepAlive(scratch);
        return output;
    }

    /// <summary>A step's sizes; a row of scratch holds its residual, normed input, q/k/v, attention output, gate/up and gated activations.</summary>
    private readonly record struct Shape(int Batch, int Hidden, int Heads, int KvHeads, int HeadDim, int Intermediate, int Start,
        int MaskRows, int MaskColumns, float Eps)
    {
        public int QkvWidth => (Heads + 2 * KvHeads) * HeadDim;
        public int AttentionWidth => Heads * HeadDim;
        public int RowFloats => 2 * Hidden + QkvWidth + AttentionWidth + 3 * Intermediate;
    }

    /// <summary>
    /// A step's inputs and outputs; <paramref name="OutputThreads"/> above one splits each large linear's outputs over
    /// that many threads (a step of too few rows to split: batch 1 of a model whose weights do not fit the caches).
    /// </summary>
    private readonly record struct Step(Shape Shape, Layer[] Layers, nint Embedding, nint FinalNorm, nint Ids, nint Cos, nint Sin,
        nint Mask, nint Output, nint Scratch, int OutputThreads = 1);

    // Rows [first, end) through every layer: the scratch holds (B, ·) arrays side by side, each thread its own rows.
    private static unsafe void Rows(Step step, int first, int end)
    {
        var s = step.Shape;
        var (b, c, w, a, i2, i) = (s.Batch, s.Hidden, s.QkvWidth, s.AttentionWidth, 2 * s.Intermediate, s.Intermediate);
        var n = end - first;
        var x = (float*)step.Scratch;                     // (B, C) residual stream
        var h = x + (long)b * c;                          // (B, C) normed
        var qkv = h + (long)b * c;                        // (B, W)
        var att = qkv + (long)b * w;                      // (B, nh·hs)
        var gu = att + (long)b * a;                       // (B, 2I)
        var act = gu + (long)b * i2;                      // (B, I)
        var ids = (long*)step.Ids;
        var embedding = (float*)step.Embedding;
        for (var r = first; r < end; r++)
            new Span<float>(embedding + ids[r] * c, c).CopyTo(new Span<float>(x + (long)r * c, c));
        foreach (var layer in step.Layers)
        {
            for (var r = first; r < end; r++) SmallRowOps.RmsNormRow(x + (long)r * c, (float*)layer.AttentionNorm, s.Eps, h + (long)r * c, c);
            Linear(step, h + (long)first * c, n, (float*)layer.Qkv, (float*)layer.QkvBias, qkv + (long)first * w, w, c, 0, w, accumulate: false);
            for (var r = first; r < end; r++)
                SmallRowOps.RotateHeads(qkv + (long)r * w, s.Heads + s.KvHeads, s.HeadDim, (float*)step.Cos + (long)r * s.HeadDim, (float*)step.Sin + (long)r * s.HeadDim);
            var job = new SmallRowOps.AttentionJob((nint)qkv, layer.Cache.Keys, layer.Cache.Values, step.Mask, (nint)att, 1, s.Heads,
                s.KvHeads, s.HeadDim, layer.Cache.Capacity, s.Start, s.MaskRows, s.MaskColumns);
            SmallRowOps.AttendRows(job, layer.Cache.Bf16, first, end);
            Linear(step, att + (long)first * a, n, (float*)layer.Output, (float*)layer.OutputBias, x + (long)first * c, c, a, 0, c, accumulate: true);
            for (var r = first; r < end; r++) SmallRowOps.RmsNormRow(x + (long)r * c, (float*)layer.MlpNorm, s.Eps, h + (long)r * c, c);
            Linear(step, h + (long)first * c, n, (float*)layer.GateUp, null, gu + (long)first * i2, i2, c, 0, i2, accumulate: false);
            for (var r = first; r < end; r++) SmallRowOps.SiluGateRow(gu + (long)r * i2, gu + (long)r * i2 + i, act + (long)r * i, i);
            Linear(step, act + (long)first * i, n, (float*)layer.Down, null, x + (long)first * c, c, i, 0, c, accumulate: true);
        }
        for (var r = first; r < end; r++) SmallRowOps.RmsNormRow(x + (long)r * c, (float*)step.FinalNorm, s.Eps, (float*)step.Output + (long)r * c, c);
    }

    // TiledLinear.Compute over all outputs, split over the step's output threads when the weight is large enough to pay
    // for it (the split changes no result: each output is still one sum in a fixed order).
    private static unsafe void Linear(Step step, float* x, int rows, float* w, float* b, float* y, int outF, int inF, int start, int end, bool accumulate)
    {
        var blocks = (end - start + 3) / 4;
        var threads = Math.Min(step.OutputThreads, blocks);
        if (threads <= 1 || (long)outF * inF < SmallRowLinear.SplitElements)
        {
            TiledLinear.Compute(x, rows, w, b, y, outF, inF, start, end, accumulate);
            return;
        }
        var (xa, wa, ba, ya) = ((nint)x, (nint)w, (nint)b, (nint)y);
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, part =>
        {
            var from = start + (int)((long)blocks * part / threads) * 4;
            var to = Math.Min(end, start + (int)((long)blocks * (part + 1) / threads) * 4);
            TiledLinear.Compute((float*)xa, rows, (float*)wa, (float*)ba, (float*)ya, outF, inF, from, to, accumulate);
        });
    }

    [ThreadStatic] private static float[]? _scratch;

    // The calling thread's scratch of at least `floats` (pinned, so its address is stable; reused across steps).
    private static float[] Scratch(long floats)
    {
        if (_scratch is null || _scratch.LongLength < floats) _scratch = GC.AllocateUninitializedArray<float>((int)floats, pinned: true);
        return _scratch;
    }

    // The memory of a contiguous CPU tensor (libtorch's, which does not move); zero for none.
    private static unsafe nint Address(Tensor? t) => t is null ? 0 : (nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(t.bytes));
}
