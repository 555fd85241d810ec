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
    /// stopped while it trims loses none of them; a line that is not a row is an error naming it, not dropped — but for a
    /// last line cut off mid-write (a run killed while writing it, after its last checkpoint), which is left out.
    /// </summary>
    public MetricsLog(string path, long? keepUpToStep = null)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        if (keepUpToStep is long last && File.Exists(path))
        {
            var kept = Rows(path, cutLastLine: true).Where(r => r.Step <= last).Select(r => r.Line).ToList();   // read whole before writing
            AtomicFile.WriteLines(path, kept);
            writer = new StreamWriter(path, append: true) { AutoFlush = true };
        }
        else writer = new StreamWriter(path, append: false) { AutoFlush = true };
    }

    public void Write(JsonObject row) => writer.WriteLine(row.ToJsonString(JsonText.Compact));

    /// <summary>Reads every row of a metrics file; a line that is not a JSON object with an integer <c>step</c> is an error naming the file and line.</summary>
    public static List<JsonObject> Read(string path) => Rows(path).Select(r => r.Row).ToList();

    static IEnumerable<(JsonObject Row, long Step, string Line)> Rows(string path, bool cutLastLine = false)
    {
        string text = File.ReadAllText(path);
        string[] lines = text.Split('\n');
        // Without a final newline the last line was being written when the run stopped: not a row yet.
        int count = text.EndsWith('\n') ? lines.Length - 1 : cutLastLine ? lines.Length - 1 : lines.Length;
        for (int number = 1; number <= count; number++)
        {
            string line = lines[number - 1].TrimEnd('\r');
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
