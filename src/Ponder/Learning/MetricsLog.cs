using System.Text.Json;
using System.Text.Json.Nodes;

namespace Ponder.Learning;

/// <summary>Metrics as JSON lines, one object per line, flushed as written.</summary>
public sealed class MetricsLog : IDisposable
{
    readonly StreamWriter writer;

    /// <summary>Opens <paramref name="path"/>; with <paramref name="keepUpToStep"/> existing rows up to that step are kept (resume), otherwise the file starts empty.</summary>
    public MetricsLog(string path, long? keepUpToStep = null)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var kept = new List<string>();
        if (keepUpToStep is long last && File.Exists(path))
            kept = File.ReadAllLines(path).Where(l => StepOf(l) is long s && s <= last).ToList();
        writer = new StreamWriter(path, append: false) { AutoFlush = true };
        foreach (var line in kept) writer.WriteLine(line);
    }

    public void Write(JsonObject row) => writer.WriteLine(row.ToJsonString(JsonText.Compact));

    /// <summary>Reads every row of a metrics file.</summary>
    public static List<JsonObject> Read(string path) =>
        File.ReadAllLines(path).Where(l => l.Length > 0).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();

    static long? StepOf(string line)
    {
        try { return JsonNode.Parse(line)?["step"]?.GetValue<long>(); }
        catch (JsonException) { return null; }
    }

    public void Dispose() => writer.Dispose();
}
