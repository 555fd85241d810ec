using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace Ponder.Interop;

/// <summary>
/// Writes a GGUF v3 file: the magic <c>GGUF</c>, version 3, tensor and metadata counts (u64), the metadata
/// key/value pairs (key = u64-length UTF-8 string, u32 type tag, value), one info record per tensor
/// (name, u32 rank, u64 dims innermost first, u32 ggml type, u64 offset into the data section), zero padding
/// to <see cref="Alignment"/>, then each tensor's little-endian bytes at its aligned offset.
/// </summary>
/// <remarks>
/// ggml lists dimensions innermost first, so a PyTorch weight of shape (out, in) is written as [in, out] with the
/// same row-major bytes. Metadata is kept in insertion order; tensors are written in the order added.
/// </remarks>
public sealed class GgufWriter
{
    /// <summary>Byte alignment of the data section and of each tensor in it (the format's default, written as <c>general.alignment</c>).</summary>
    public const int Alignment = 32;

    private const uint Magic = 0x46554747;   // "GGUF" read as a little-endian u32
    private const uint Version = 3;

    private readonly List<(string Key, GgufValueType Type, object Value)> _metadata = [];
    private readonly List<(string Name, Tensor Tensor, GgufTensorType Type)> _tensors = [];
    private readonly HashSet<string> _keys = new(StringComparer.Ordinal);
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);

    public GgufWriter() => Add("general.alignment", GgufValueType.UInt32, (uint)Alignment);

    public void AddString(string key, string value) => Add(key, GgufValueType.String, value);
    public void AddUInt32(string key, uint value) => Add(key, GgufValueType.UInt32, value);
    public void AddInt32(string key, int value) => Add(key, GgufValueType.Int32, value);
    public void AddFloat32(string key, float value) => Add(key, GgufValueType.Float32, value);
    public void AddBool(string key, bool value) => Add(key, GgufValueType.Bool, value);
    public void AddStrings(string key, IReadOnlyList<string> values) => Add(key, GgufValueType.Array, (GgufValueType.String, (object)values));
    public void AddInt32s(string key, IReadOnlyList<int> values) => Add(key, GgufValueType.Array, (GgufValueType.Int32, (object)values));
    public void AddFloat32s(string key, IReadOnlyList<float> values) => Add(key, GgufValueType.Array, (GgufValueType.Float32, (object)values));

    /// <summary>Queues <paramref name="tensor"/> (any device or dtype; converted when written) under <paramref name="name"/>.</summary>
    public void AddTensor(string name, Tensor tensor, GgufTensorType type)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (!_names.Add(name)) throw new ArgumentException($"GGUF tensor '{name}' is added twice", nameof(name));
        if (tensor.dim() is < 1 or > 4) throw new ArgumentException($"GGUF tensor '{name}' has rank {tensor.dim()}; ggml holds ranks 1 to 4", nameof(tensor));
        _tensors.Add((name, tensor, type));
    }

    /// <summary>Writes the file to <c>path.tmp</c> and renames it into place, so a failed write leaves no partial file.</summary>
    public void Write(string path)
    {
        string temporary = path + ".tmp";
        try
        {
            using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 1 << 20))
            {
                WriteTo(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    private void WriteTo(Stream stream)
    {
        using (var header = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            header.Write(Magic);
            header.Write(Version);
            header.Write((ulong)_tensors.Count);
            header.Write((ulong)_metadata.Count);
            foreach (var (key, type, value) in _metadata)
            {
                WriteString(header, key);
                header.Write((uint)type);
                WriteValue(header, type, value);
            }
            ulong offset = 0;   // from the start of the data section
            foreach (var (name, tensor, type) in _tensors)
            {
                WriteString(header, name);
                header.Write((uint)tensor.dim());
                for (int d = (int)tensor.dim() - 1; d >= 0; d--) header.Write((ulong)tensor.shape[d]);   // innermost first
                header.Write((uint)type);
                header.Write(offset);
                offset = Align(offset + (ulong)tensor.numel() * ElementSize(type));
            }
        }
        Pad(stream);
        foreach (var (_, tensor, type) in _tensors)
        {
            using var scope = torch.NewDisposeScope();
            var data = tensor.detach().cpu().to_type(type == GgufTensorType.F16 ? ScalarType.Float16 : ScalarType.Float32).contiguous();
            TensorBytes.ForEachChunk(data, (chunk, _) => stream.Write(chunk));
            Pad(stream);
        }
    }

    private void Add(string key, GgufValueType type, object value)
    {
        if (!_keys.Add(key)) throw new ArgumentException($"GGUF metadata key '{key}' is added twice", nameof(key));
        _metadata.Add((key, type, value));
    }

    private static void WriteValue(BinaryWriter w, GgufValueType type, object value)
    {
        switch (type)
        {
            case GgufValueType.String: WriteString(w, (string)value); break;
            case GgufValueType.UInt32: w.Write((uint)value); break;
            case GgufValueType.Int32: w.Write((int)value); break;
            case GgufValueType.Float32: w.Write((float)value); break;
            case GgufValueType.Bool: w.Write((bool)value ? (byte)1 : (byte)0); break;
            case GgufValueType.Array:
                var (elementType, items) = ((GgufValueType, object))value;
                w.Write((uint)elementType);
                switch (items)
                {
                    case IReadOnlyList<string> strings: w.Write((ulong)strings.Count); foreach (var s in strings) WriteString(w, s); break;
                    case IReadOnlyList<int> ints: w.Write((ulong)ints.Count); foreach (var i in ints) w.Write(i); break;
                    case IReadOnlyList<float> floats: w.Write((ulong)floats.Count); foreach (var f in floats) w.Write(f); break;
                    default: throw new ArgumentException($"unsupported GGUF array of {elementType}");
                }
                break;
            default: throw new ArgumentOutOfRangeException(nameof(type), type, "not written by this writer");
        }
    }

    private static void WriteString(BinaryWriter w, string s)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }

    private static ulong ElementSize(GgufTensorType type) => type switch
    {
        GgufTensorType.F32 => 4,
        GgufTensorType.F16 => 2,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    private static ulong Align(ulong offset) => (offset + Alignment - 1) / Alignment * Alignment;

    private static void Pad(Stream stream)
    {
        long padding = (long)Align((ulong)stream.Position) - stream.Position;
        if (padding > 0) stream.Write(new byte[padding]);
    }
}
