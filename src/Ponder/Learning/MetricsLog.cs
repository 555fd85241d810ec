using System.Text.Json;
using System.Text.Json.Nodes;

namespace Ponder.Learning;

/// <summary>Metrics as JSON lines, one object per line (each with its integer <c>step</c>), flushed as written.</summary>
public sealed class MetricsLog : IDisposable
{
    readonly StreamWriter writer;

    /// <summary>
    /// Opens <paramref name="path"/>; with <paramref name="keepUpToStep"/> existing rows up to that step are kept (resume),
    /// otherwise the file starts empty. The kept rows are written to a sibling file that then replaces the log, so a run
    /// stopped while it trims loses none of them; a line that is not a row is an error naming it, not dropped.
    /// </summary>
    public MetricsLog(string path, long? keepUpToStep = null)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        if (keepUpToStep is long last && File.Exists(path))
        {
            var kept = Rows(path).Where(r => r.Step <= last).Select(r => r.Line);
            string staged = path + ".tmp";
            File.WriteAllLines(staged, kept);
            File.Move(staged, path, overwrite: true);
            writer = new StreamWriter(path, append: true) { AutoFlush = true };
        }
        else writer = new StreamWriter(path, append: false) { AutoFlush = true };
    }

    public void Write(JsonObject row) => writer.WriteLine(row.ToJsonString(JsonText.Compact));

    /// <summary>Reads every row of a metrics file; a line that is not a JSON object with an integer <c>step</c> is an error naming the file and line.</summary>
    public static List<JsonObject> Read(string path) => Rows(path).Select(r => r.Row).ToList();

    static IEnumerable<(JsonObject Row, long Step, string Line)> Rows(string path)
    {
        int number = 0;
        foreach (string line in File.ReadLines(path))
        {
            number++;
            if (line.Length == 0) continue;
            JsonObject? row = null;
            long step = 0;
            try
            {
                row = JsonNode.Parse(line) as JsonObject;
                if (row?["step"] is JsonValue value && value.TryGetValue(out long s)) step = s;
                else row = null;
            }
            catch (JsonException) { }
            if (row is null) throw new InvalidDataException($"{path}:{number}: not a metrics row (a JSON object with an integer \"step\")");
            yield return (row, step, line);
        }
    }

    public void Dispose() => writer.Dispose();
}
