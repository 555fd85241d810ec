namespace Ponder.Tests.Tasks;

/// <summary>A fresh temporary folder for test files, deleted on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "ponder-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    /// <summary>Writes the lines to a file in this folder and returns its path.</summary>
    public string Write(string name, params string[] lines)
    {
        string path = System.IO.Path.Combine(Path, name);
        File.WriteAllText(path, string.Join("\n", lines) + "\n");
        return path;
    }

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
