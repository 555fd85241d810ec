namespace Ponder.Interop;

/// <summary>One tensor's header entry: its dtype, shape and byte range [Begin, End) within the data buffer.</summary>
public sealed record SafetensorsEntry(string Name, SafetensorsDType DType, long[] Shape, long Begin, long End)
{
    /// <summary>Bytes the tensor occupies.</summary>
    public long ByteCount => End - Begin;
}
