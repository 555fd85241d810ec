using System.Buffers.Binary;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;
using TorchSharp;
using static TorchSharp.torch;

namespace Ponder.Interop;

/// <summary>
/// An open safetensors file whose header has been read and checked; tensors are read one at a
/// time, straight from the file into freshly allocated CPU tensors (no intermediate managed copy),
/// so a loader can stream a model larger than twice the free memory.
/// </summary>
public sealed class SafetensorsReader : IDisposable
{
    /// <summary>The reference implementation refuses headers above 100 MB; so do we, before allocating one.</summary>
    private const long MaxHeaderBytes = 100_000_000;

    private readonly SafeFileHandle _file;
    private readonly long _dataStart;

    private SafetensorsReader(string path, SafeFileHandle file, long dataStart,
        Dictionary<string, SafetensorsEntry> entries, Dictionary<string, string> metadata)
    {
        Path = path;
        _file = file;
        _dataStart = dataStart;
        Entries = entries;
        Metadata = metadata;
    }

    /// <summary>The file as it was named to <see cref="Open"/>; every error message starts with it.</summary>
    public string Path { get; }

    /// <summary>Header entries by tensor name, in header order.</summary>
    public IReadOnlyDictionary<string, SafetensorsEntry> Entries { get; }

    /// <summary>The <c>__metadata__</c> map; empty when the file has none.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Opens <paramref name="path"/> and validates its header; throws <see cref="InvalidDataException"/> when it is malformed.</summary>
    public static SafetensorsReader Open(string path)
    {
        var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
        try
        {
            long fileLength = RandomAccess.GetLength(file);
            if (fileLength < 8)
                throw SafetensorsError.For(path, $"file is {fileLength} bytes, too short for the 8-byte header length");
            Span<byte> prefix = stackalloc byte[8];
            ReadExactly(path, file, prefix, 0);
            ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
            if (headerLength > (ulong)(fileLength - 8))
                throw SafetensorsError.For(path, $"header length {headerLength} runs past the end of the {fileLength}-byte file");
            if (headerLength > MaxHeaderBytes)
                throw SafetensorsError.For(path, $"header length {headerLength} exceeds the {MaxHeaderBytes}-byte limit");
            var header = new byte[headerLength];
            ReadExactly(path, file, header, 8);
            long dataStart = 8 + (long)headerLength;
            var (entries, metadata) = ParseHeader(path, header, fileLength - dataStart);
            return new SafetensorsReader(path, file, dataStart, entries, metadata);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Reads tensor <paramref name="name"/> into a new CPU tensor of the file's dtype and shape.</summary>
    public Tensor Read(string name)
    {
        if (!Entries.TryGetValue(name, out var entry))
            throw SafetensorsError.For(Path, name, "not in the file");
        var tensor = torch.empty(entry.Shape, entry.DType.ToScalarType());
        try
        {
            TensorBytes.ForEachChunk(tensor, (chunk, offset) => ReadExactly(Path, _file, chunk, _dataStart + entry.Begin + offset));
            return tensor;
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }

    public void Dispose() => _file.Dispose();

    private static void ReadExactly(string path, SafeFileHandle file, Span<byte> destination, long fileOffset)
    {
        while (!destination.IsEmpty)
        {
            int read = RandomAccess.Read(file, destination, fileOffset);
            if (read == 0)
                throw SafetensorsError.For(path, $"unexpected end of file at byte {fileOffset}");
            destination = destination[read..];
            fileOffset += read;
        }
    }

    private static (Dictionary<string, SafetensorsEntry>, Dictionary<string, string>) ParseHeader(string path, byte[] header, long bufferLength)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: header is not valid JSON: {OneLine(e.Message)}", e);
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw SafetensorsError.For(path, $"header is a JSON {document.RootElement.ValueKind.ToString().ToLowerInvariant()}, not an object");
            var entries = new Dictionary<string, SafetensorsEntry>(StringComparer.Ordinal);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (property.Name == "__metadata__")
                    ReadMetadata(path, property.Value, metadata);
                else if (!entries.TryAdd(property.Name, ParseEntry(path, property.Name, property.Value, bufferLength)))
                    throw SafetensorsError.For(path, property.Name, "appears twice in the header");
            }
            CheckNoOverlap(path, entries.Values);
            return (entries, metadata);
        }
    }

    private static void ReadMetadata(string path, JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw SafetensorsError.For(path, "__metadata__ is not a JSON object");
        foreach (var item in value.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
                throw SafetensorsError.For(path, $"__metadata__ value of '{item.Name}' is not a string");
            metadata[item.Name] = item.Value.GetString()!;
        }
    }

    private static SafetensorsEntry ParseEntry(string path, string name, JsonElement value, long bufferLength)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw SafetensorsError.For(path, name, "header entry is not a JSON object");
        if (!value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw SafetensorsError.For(path, name, "missing string 'dtype'");
        string dtypeName = dtypeElement.GetString()!;
        var dtype = SafetensorsDTypes.Parse(dtypeName)
            ?? throw SafetensorsError.For(path, name, $"unknown dtype '{dtypeName}'");
        var shape = ReadIntegers(path, name, value, "shape");
        var offsets = ReadIntegers(path, name, value, "data_offsets");
        if (offsets.Length != 2)
            throw SafetensorsError.For(path, name, $"data_offsets has {offsets.Length} numbers, expected 2");
        var (begin, end) = (offsets[0], offsets[1]);
        if (end < begin)
            throw SafetensorsError.For(path, name, $"data_offsets end {end} is before begin {begin}");
        if (end > bufferLength)
            throw SafetensorsError.For(path, name, $"data_offsets [{begin}, {end}] run past the end of the {bufferLength}-byte data buffer");
        long expected;
        try
        {
            expected = checked(shape.Aggregate(1L, (product, size) => product * size) * dtype.Size());
        }
        catch (OverflowException)
        {
            throw SafetensorsError.For(path, name, $"shape {FormatShape(shape)} is too large");
        }
        if (end - begin != expected)
            throw SafetensorsError.For(path, name,
                $"data_offsets cover {end - begin} bytes but shape {FormatShape(shape)} of {dtype.Name()} needs {expected}");
        return new SafetensorsEntry(name, dtype, shape, begin, end);
    }

    private static long[] ReadIntegers(string path, string name, JsonElement entry, string field)
    {
        if (!entry.TryGetProperty(field, out var array) || array.ValueKind != JsonValueKind.Array)
            throw SafetensorsError.For(path, name, $"missing array '{field}'");
        var values = new long[array.GetArrayLength()];
        int i = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out values[i]) || values[i] < 0)
                throw SafetensorsError.For(path, name, $"'{field}' holds {item.GetRawText()}, not a non-negative integer");
            i++;
        }
        return values;
    }

    private static void CheckNoOverlap(string path, IEnumerable<SafetensorsEntry> entries)
    {
        SafetensorsEntry? reach = null;   // the entry reaching furthest into the buffer so far
        foreach (var entry in entries.Where(e => e.ByteCount > 0).OrderBy(e => e.Begin).ThenBy(e => e.End))
        {
            if (reach is not null && entry.Begin < reach.End)
                throw SafetensorsError.For(path,
                    $"tensors '{reach.Name}' [{reach.Begin}, {reach.End}) and '{entry.Name}' [{entry.Begin}, {entry.End}) overlap");
            if (reach is null || entry.End > reach.End)
                reach = entry;
        }
    }

    internal static string FormatShape(IEnumerable<long> shape) => $"[{string.Join(", ", shape)}]";

    private static string OneLine(string message) => message.ReplaceLineEndings(" ");
}
