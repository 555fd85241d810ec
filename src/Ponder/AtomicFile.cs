namespace Ponder;

/// <summary>Report and result files written whole or not at all.</summary>
public static class AtomicFile
{
    /// <summary>
    /// Writes <paramref name="text"/> to <paramref name="path"/> through a sibling file renamed over it, so a run stopped
    /// while writing (a full disk, a kill) leaves the earlier file whole rather than cut.
    /// </summary>
    public static void Write(string path, string text)
    {
        string staged = path + ".tmp";
        File.WriteAllText(staged, text);
        File.Move(staged, path, overwrite: true);
    }

    /// <summary>As <see cref="Write"/>, one line each (a JSON-lines file).</summary>
    public static void WriteLines(string path, IEnumerable<string> lines)
    {
        string staged = path + ".tmp";
        File.WriteAllLines(staged, lines);
        File.Move(staged, path, overwrite: true);
    }
}
