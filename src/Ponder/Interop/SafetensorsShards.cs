using System.Text.Json;
using static TorchSharp.torch;

namespace Ponder.Interop;

/// <summary>
/// The weights of a checkpoint folder as one set of tensors: either <c>model.safetensors</c> or, when
/// <c>model.safetensors.index.json</c> is present, every shard its <c>weight_map</c> names. Each tensor is read
/// from the shard the index assigns it; an index entry whose shard or tensor is missing fails on opening.
/// </summary>
public sealed class SafetensorsShards : IDisposable
{
    public const string SingleFile = "model.safetensors";
    public const string IndexFile = "model.safetensors.index.json";

    private readonly List<SafetensorsReader> _readers;
    private readonly Dictionary<string, SafetensorsReader> _owner;

    private SafetensorsShards(string source, List<SafetensorsReader> readers, Dictionary<string, SafetensorsReader> owner)
    {
        Source = source;
        _readers = readers;
        _owner = owner;
        Entries = owner.ToDictionary(e => e.Key, e => e.Value.Entries[e.Key], StringComparer.Ordinal);
    }

    /// <summary>The single weights file, or the index of the shards (for messages about tensors no file holds).</summary>
    public string Source { get; }

    /// <summary>Header entries of every tensor, by name.</summary>
    public IReadOnlyDictionary<string, SafetensorsEntry> Entries { get; }

    /// <summary>The file that holds tensor <paramref name="name"/> (for messages).</summary>
    public string PathOf(string name) => _owner[name].Path;

    /// <summary>Opens the weights of folder <paramref name="dir"/>; the index wins when both layouts are present.</summary>
    public static SafetensorsShards Open(string dir)
    {
        string index = Path.Combine(dir, IndexFile);
        if (!File.Exists(index))
        {
            string single = Path.Combine(dir, SingleFile);
            if (!File.Exists(single)) throw new FileNotFoundException($"checkpoint '{dir}': missing {SingleFile} (and no {IndexFile})", single);
            var reader = SafetensorsReader.Open(single);
            return new SafetensorsShards(single, [reader], reader.Entries.Keys.ToDictionary(k => k, _ => reader, StringComparer.Ordinal));
        }
        var map = ReadWeightMap(index);
        var readers = new Dictionary<string, SafetensorsReader>(StringComparer.Ordinal);
        try
        {
            var owner = new Dictionary<string, SafetensorsReader>(StringComparer.Ordinal);
            foreach (var (tensor, shard) in map)
            {
                if (!readers.TryGetValue(shard, out var reader))
                {
                    string shardPath = Path.Combine(dir, shard);
                    if (!IsShardFile(dir, shard))
                        throw new InvalidDataException($"{index}: shard '{shard}' of tensor '{tensor}' is not a file in {dir}");
                    readers[shard] = reader = SafetensorsReader.Open(shardPath);
                }
                if (!reader.Entries.ContainsKey(tensor))
                    throw new InvalidDataException($"{reader.Path}: tensor '{tensor}' is missing (the index places it in this shard)");
                owner[tensor] = reader;
            }
            return new SafetensorsShards(index, [.. readers.Values], owner);
        }
        catch
        {
            foreach (var reader in readers.Values) reader.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The files that hold folder <paramref name="dir"/>'s weights: <c>model.safetensors</c>, or (the index winning, as
    /// in <see cref="Open"/>) the index and then its shards in ordinal order.
    /// </summary>
    public static IReadOnlyList<string> Files(string dir)
    {
        string index = Path.Combine(dir, IndexFile);
        if (!File.Exists(index))
        {
            string single = Path.Combine(dir, SingleFile);
            return File.Exists(single) ? [single] : throw new FileNotFoundException($"checkpoint '{dir}': missing {SingleFile} (and no {IndexFile})", single);
        }
        var shards = ReadWeightMap(index).Values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        if (shards.FirstOrDefault(s => !IsShardFile(dir, s)) is { } missing)
            throw new InvalidDataException($"{index}: shard '{missing}' is not a file in {dir}");
        return [index, .. shards.Select(s => Path.Combine(dir, s))];
    }

    // A shard the index names is a file directly in the folder (no path of its own).
    private static bool IsShardFile(string dir, string shard) => !shard.Contains('/') && !shard.Contains('\\') && File.Exists(Path.Combine(dir, shard));

    /// <summary>Reads tensor <paramref name="name"/> as a CPU tensor in its file dtype.</summary>
    public Tensor Read(string name) =>
        _owner.TryGetValue(name, out var reader) ? reader.Read(name) : throw new KeyNotFoundException($"no tensor '{name}' in the checkpoint");

    public void Dispose()
    {
        foreach (var reader in _readers) reader.Dispose();
    }

    private static Dictionary<string, string> ReadWeightMap(string index)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(index));
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{index}: expected a JSON object, found {document.RootElement.ValueKind.ToString().ToLowerInvariant()}");
            if (!document.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{index}: no 'weight_map' object");
            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var entry in map.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.String)
                    throw new InvalidDataException($"{index}: weight_map entry '{entry.Name}' is not a file name");
                result[entry.Name] = entry.Value.GetString()!;
            }
            return result;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{index}: not valid JSON: {e.Message.ReplaceLineEndings(" ")}", e);
        }
    }
}
