using System.Buffers;
using System.Buffers.Binary;
using System.Text.Encodings.Web;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace Ponder.Interop;

/// <summary>
/// The Hugging Face safetensors format: an 8-byte little-endian header length N, N bytes of JSON
/// header (<c>{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {..}}</c>,
/// space-padded to a multiple of 8), then the raw little-endian tensor bytes, offsets counted from
/// the start of that buffer. We write tensors in ordinal name order, back to back.
/// </summary>
public static class Safetensors
{
    private static readonly JsonWriterOptions HeaderJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// Writes <paramref name="tensors"/> (any device, any layout) to <paramref name="path"/>, each
    /// converted to <paramref name="dtype"/> when given, else kept in its own dtype. The file is
    /// written to <c>path.tmp</c> and renamed over <paramref name="path"/>, so a failed or
    /// interrupted save leaves any previous file intact.
    /// </summary>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors,
        SafetensorsDType? dtype = null, IReadOnlyDictionary<string, string>? metadata = null)
    {
        string temporary = path + ".tmp";
        Write(temporary, tensors, dtype, metadata, displayPath: path);
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Reads every tensor of <paramref name="path"/> as a CPU tensor in the file's dtype.</summary>
    public static Dictionary<string, Tensor> Load(string path) => Load(path, out _);

    /// <summary>Reads every tensor of <paramref name="path"/> and its <c>__metadata__</c> map (empty when absent).</summary>
    public static Dictionary<string, Tensor> Load(string path, out IReadOnlyDictionary<string, string> metadata)
    {
        using var reader = SafetensorsReader.Open(path);
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (string name in reader.Entries.Keys)
                tensors[name] = reader.Read(name);
        }
        catch
        {
            foreach (var tensor in tensors.Values)
                tensor.Dispose();
            throw;
        }
        metadata = reader.Metadata;
        return tensors;
    }

    /// <summary>
    /// Writes the file at <paramref name="path"/> directly (no rename), flushed to disk; deletes it
    /// again when writing fails. Messages name <paramref name="displayPath"/>, the file the caller
    /// means to produce.
    /// </summary>
    internal static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors,
        SafetensorsDType? dtype, IReadOnlyDictionary<string, string>? metadata, string displayPath)
    {
        var entries = Plan(displayPath, tensors, dtype);
        byte[] header = Header(entries.Select(e => e.Entry), metadata);
        try
        {
            using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 1 << 20);
            Span<byte> prefix = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
            stream.Write(prefix);
            stream.Write(header);
            foreach (var (entry, tensor) in entries)
            {
                using var scope = torch.NewDisposeScope();
                var data = tensor.detach().cpu().to_type(entry.DType.ToScalarType()).contiguous();
                TensorBytes.ForEachChunk(data, (chunk, _) => stream.Write(chunk));
            }
            stream.Flush(flushToDisk: true);
        }
        catch
        {
            if (File.Exists(path))
                File.Delete(path);
            throw;
        }
    }

    /// <summary>Checks names and dtypes and lays the tensors out back to back in ordinal name order.</summary>
    private static List<(SafetensorsEntry Entry, Tensor Tensor)> Plan(string path,
        IEnumerable<KeyValuePair<string, Tensor>> tensors, SafetensorsDType? dtype)
    {
        var byName = new SortedDictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, tensor) in tensors)
        {
            if (name.Length == 0 || name == "__metadata__")
                throw new ArgumentException($"{path}: '{name}' cannot name a tensor", nameof(tensors));
            if (!byName.TryAdd(name, tensor))
                throw new ArgumentException($"{path}: tensor '{name}' is given twice", nameof(tensors));
        }
        var plan = new List<(SafetensorsEntry, Tensor)>(byName.Count);
        long offset = 0;
        foreach (var (name, tensor) in byName)
        {
            var own = SafetensorsDTypes.FromScalarType(tensor.dtype)
                ?? throw new ArgumentException($"{path}: tensor '{name}' has dtype {tensor.dtype}, which safetensors cannot hold", nameof(tensors));
            var target = dtype ?? own;
            long bytes = tensor.numel() * target.Size();
            plan.Add((new SafetensorsEntry(name, target, tensor.shape, offset, offset + bytes), tensor));
            offset += bytes;
        }
        return plan;
    }

    /// <summary>The JSON header, <c>__metadata__</c> first, padded with spaces to a multiple of 8 bytes.</summary>
    private static byte[] Header(IEnumerable<SafetensorsEntry> entries, IReadOnlyDictionary<string, string>? metadata)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, HeaderJson))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject("__metadata__");
                foreach (var (key, value) in metadata.OrderBy(m => m.Key, StringComparer.Ordinal))
                    json.WriteString(key, value);
                json.WriteEndObject();
            }
            foreach (var entry in entries)
            {
                json.WriteStartObject(entry.Name);
                json.WriteString("dtype", entry.DType.Name());
                json.WriteStartArray("shape");
                foreach (long size in entry.Shape)
                    json.WriteNumberValue(size);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(entry.Begin);
                json.WriteNumberValue(entry.End);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        int padded = (buffer.WrittenCount + 7) / 8 * 8;
        var header = new byte[padded];
        buffer.WrittenSpan.CopyTo(header);
        header.AsSpan(buffer.WrittenCount).Fill((byte)' ');
        return header;
    }
}
