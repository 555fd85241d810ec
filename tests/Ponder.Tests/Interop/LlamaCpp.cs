using System.Text;
using LLama;
using LLama.Common;
using LLama.Native;

namespace Ponder.Tests.Interop;

/// <summary>llama.cpp (through LLamaSharp's CPU backend) as an independent reference: loads a GGUF file and returns next-token logits.</summary>
internal sealed class LlamaCpp : IDisposable
{
    private static readonly Lazy<bool> Configured = new(() =>
    {
        NativeLibraryConfig.All.WithLogCallback((_, _) => { });   // llama.cpp logs every tensor it loads
        return true;
    });

    private readonly LLamaWeights _weights;
    private readonly LLamaContext _context;

    /// <summary>F32 key/value cache and no flash attention, so an F32 file is computed in F32 throughout.</summary>
    public LlamaCpp(string ggufPath, int contextSize = 128, int threads = 1)
    {
        _ = Configured.Value;
        var parameters = new ModelParams(ggufPath)
        {
            ContextSize = (uint)contextSize,
            BatchSize = (uint)contextSize,
            UBatchSize = (uint)contextSize,
            Threads = threads,
            BatchThreads = threads,
            GpuLayerCount = 0,
            TypeK = GGMLType.GGML_TYPE_F32,
            TypeV = GGMLType.GGML_TYPE_F32,
            FlashAttention = false,
        };
        _weights = LLamaWeights.LoadFromFile(parameters);
        _context = _weights.CreateContext(parameters);
    }

    public int VocabSize => _weights.Vocab.Count;

    /// <summary>llama.cpp's own tokenization of <paramref name="text"/> (no BOS, special tokens not parsed).</summary>
    public int[] Tokenize(string text) => [.. _weights.Tokenize(text, false, false, Encoding.UTF8).Select(t => (int)t)];

    /// <summary>Logits (T × V, row-major) at every position of <paramref name="tokens"/>, decoded as one fresh sequence.</summary>
    public float[] Logits(IReadOnlyList<int> tokens)
    {
        var handle = _context.NativeHandle;
        handle.MemoryClear(true);
        var batch = new LLamaBatch();
        for (int i = 0; i < tokens.Count; i++) batch.Add(tokens[i], i, LLamaSeqId.Zero, true);
        var result = handle.Decode(batch);
        if (result != DecodeResult.Ok) throw new InvalidOperationException($"llama_decode returned {result}");
        int v = VocabSize;
        var logits = new float[tokens.Count * v];
        for (int i = 0; i < tokens.Count; i++) handle.GetLogitsIth(i).CopyTo(logits.AsSpan(i * v, v));
        return logits;
    }

    public void Dispose()
    {
        _context.Dispose();
        _weights.Dispose();
    }
}
