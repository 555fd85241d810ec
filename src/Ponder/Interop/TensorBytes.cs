using TorchSharp;
using static TorchSharp.torch;

namespace Ponder.Interop;

/// <summary>Receives one chunk of a tensor's raw storage and where that chunk starts, in bytes from the tensor's first byte.</summary>
internal delegate void ByteChunkAction(Span<byte> chunk, long offset);

/// <summary>
/// Raw access to the storage of a contiguous CPU tensor, a chunk at a time: TorchSharp's
/// <see cref="Tensor.bytes"/> is a <see cref="Span{T}"/> and so stops at 2 GiB, while one embedding
/// table of a large model can be bigger.
/// </summary>
internal static class TensorBytes
{
    /// <summary>Largest chunk handed out; a multiple of every element size.</summary>
    private const long MaxChunkBytes = 1L << 30;

    /// <summary>Calls <paramref name="action"/> on consecutive spans that together cover the whole storage of <paramref name="tensor"/>.</summary>
    public static void ForEachChunk(Tensor tensor, ByteChunkAction action)
    {
        if (tensor.device_type != DeviceType.CPU || !tensor.is_contiguous())
            throw new ArgumentException("expected a contiguous CPU tensor", nameof(tensor));
        long count = tensor.numel();
        if (count == 0)
            return;
        long elementSize = tensor.element_size();
        long perChunk = MaxChunkBytes / elementSize;
        using var flat = tensor.reshape(-1);
        for (long start = 0; start < count; start += perChunk)
        {
            using var part = flat.narrow(0, start, Math.Min(perChunk, count - start));
            action(part.bytes, start * elementSize);
        }
    }
}
