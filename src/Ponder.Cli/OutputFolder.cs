using Ponder.Policy;

namespace Ponder.Cli;

/// <summary>
/// The folder a trainer or an export writes. A run never replaces work already saved there: a folder that holds a
/// checkpoint is refused unless the run resumes it (as Hugging Face's Trainer refuses a non-empty output_dir), and a
/// folder the run created is removed again when the run fails before writing anything into it.
/// </summary>
internal static class OutputFolder
{
    /// <summary>Files whose presence means a folder holds a checkpoint (a log alone, from a run stopped before its first
    /// checkpoint, is not one: such a folder can only be started again).</summary>
    private static readonly string[] SavedFiles = [Checkpoint.StateFile, Checkpoint.ConfigFile, Checkpoint.WeightsFile];

    /// <summary>The file a run holds locked (advisory) in its folder while it writes there.</summary>
    public const string LockFile = ".ponder-run.lock";

    /// <summary>
    /// Refuses <paramref name="dir"/> when it is a file, or (unless <paramref name="resume"/>) a folder that holds a
    /// checkpoint: the run would overwrite it.
    /// </summary>
    public static void RequireNoCheckpoint(string verb, string dir, bool resume)
    {
        RequireNotFile(verb, dir);
        if (resume || !Directory.Exists(dir)) return;
        if (SavedFiles.FirstOrDefault(f => File.Exists(Path.Combine(dir, f))) is { } found)
            throw new UsageException($"{verb}: --out '{dir}' already holds a checkpoint ({found}); pass --resume to continue it, or remove it or choose another folder to start anew");
    }

    /// <summary>Refuses <paramref name="dir"/> when it is a file or a folder with anything in it.</summary>
    public static void RequireEmpty(string verb, string dir)
    {
        RequireNotFile(verb, dir);
        if (Directory.Exists(dir) && Directory.EnumerateFileSystemEntries(dir).Any())
            throw new UsageException($"{verb}: --out '{dir}' is not empty; remove it or choose another folder");
    }

    /// <summary>
    /// Runs <paramref name="run"/>; when it throws and <paramref name="dir"/> did not exist before, removes the folder
    /// again if the run wrote nothing into it (no file, or only empty ones such as a metrics log opened before the
    /// failure); a run that saved a checkpoint before failing keeps it.
    /// </summary>
    public static void Run(string dir, Action run) => Run(dir, () => { run(); return 0; });

    /// <inheritdoc cref="Run(string, Action)"/>
    public static T Run<T>(string dir, Func<T> run)
    {
        bool existed = Directory.Exists(dir);
        var held = Lock(dir);                                       // outside the try: a folder another run holds is not ours to remove
        try
        {
            using (held) return run();                              // the lock is released before the clean-up below looks
        }
        catch
        {
            if (!existed && Directory.Exists(dir) && Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).All(f => new FileInfo(f).Length == 0))
                Directory.Delete(dir, recursive: true);
            throw;
        }
    }

    /// <summary>
    /// Creates <paramref name="dir"/> and holds its lock file for the run, so a second run writing the same folder at
    /// the same time is refused instead of interleaving its files with the first's.
    /// </summary>
    private static FileStream Lock(string dir)
    {
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, LockFile);
        try
        {
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
        }
        catch (IOException) when (File.Exists(path))                   // there, and held: another run has it open (it is deleted on close)
        {
            throw new UsageException($"train: --out '{dir}' is being written by another ponder run; wait for it or choose another folder");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"train: --out '{dir}': its lock file cannot be created: {e.Message}");
        }
    }

    /// <summary>
    /// Checks before any work that a report folder can be written: not a file, and creatable (so a long run does not
    /// fail at its end).
    /// </summary>
    public static void RequireWritableFolder(string verb, string dir, string option = "out")
    {
        RequireNotFile(verb, dir, option);
        Create(verb, dir, option);
    }

    /// <summary>Checks before any work that a file can be written: not a folder, and its folder creatable.</summary>
    public static void RequireWritableFile(string verb, string path, string option)
    {
        if (Directory.Exists(path)) throw new UsageException($"{verb}: --{option} '{path}' is a folder, not a file");
        if (Path.GetDirectoryName(Path.GetFullPath(path)) is { } parent) Create(verb, parent, option);
    }

    private static void Create(string verb, string dir, string option)
    {
        try
        {
            Directory.CreateDirectory(dir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"{verb}: --{option} '{dir}' cannot be created: {e.Message}");
        }
    }

    private static void RequireNotFile(string verb, string dir, string option = "out")
    {
        if (File.Exists(dir)) throw new UsageException($"{verb}: --{option} '{dir}' is a file, not a folder");
    }
}
