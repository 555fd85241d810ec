using System.Diagnostics;
using System.Reflection;
using Ponder.Learning;
using Ponder.Policy;
using TorchSharp;
using static TorchSharp.torch;

namespace Ponder.Cli;

/// <summary>
/// SFT runs side by side, each a <c>ponder train sft</c> process of one libtorch thread (<c>PONDER_THREADS=1</c>): a
/// small policy trains no faster on two threads than on one, so two runs at once take about the time of one. Each
/// process writes its run folder and a log beside it (<c>DIR.log</c>). When one fails the others are stopped, and so are
/// they all when this process ends first (a signal, an error). Where the runs cannot go side by side (not the CPU, fewer
/// cores than runs, or not running as the ponder tool itself) it says so, and the caller runs them in turn.
/// </summary>
public static class SideBySide
{
    /// <summary>Runs <paramref name="runs"/> as processes side by side; false (nothing run) where that cannot be done.</summary>
    public static bool Train(IReadOnlyList<SftOptions> runs, Device device, IProgress<string>? progress)
    {
        ArgumentNullException.ThrowIfNull(runs);
        if (device.type != DeviceType.CPU || Environment.ProcessorCount < runs.Count || Launcher() is not { } launcher) return false;
        foreach (var run in runs) RequireSameRun(run);
        progress?.Report($"SFT runs side by side, one thread each: {string.Join(", ", runs.Select(r => r.Out + ".log"))}");
        var children = new List<(Process Process, SftOptions Run)>();
        void StopAll(object? sender, EventArgs e) => Stop(children.Select(c => c.Process));
        AppDomain.CurrentDomain.ProcessExit += StopAll;                  // a signal or an exit mid-way takes the children with it
        try
        {
            foreach (var run in runs) children.Add((Start(launcher, run), run));
            var waiting = children.Select(c => c.Process.WaitForExitAsync()).ToList();
            while (waiting.Count > 0)
            {
                int done = Task.WaitAny([.. waiting]);
                waiting.RemoveAt(done);
                var failed = children.FirstOrDefault(c => c.Process.HasExited && c.Process.ExitCode != 0);
                if (failed.Process is { } process)
                {
                    Stop(children.Select(c => c.Process));
                    string last = File.Exists(failed.Run.Out + ".log") ? File.ReadLines(failed.Run.Out + ".log").LastOrDefault(l => l.Length > 0) ?? "no output" : "no output";
                    throw new InvalidOperationException($"train sft into '{failed.Run.Out}' failed (exit {process.ExitCode}): {last}");
                }
            }
            foreach (var (process, _) in children) process.WaitForExit();   // and their output handlers, which close the logs
            return true;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Stop(children.Select(c => c.Process));
            throw new InvalidOperationException($"train sft could not be started as a process of its own: {e.Message}");
        }
        finally
        {
            AppDomain.CurrentDomain.ProcessExit -= StopAll;
            Stop(children.Select(c => c.Process));
            foreach (var (process, _) in children) process.Dispose();
        }
    }

    /// <summary>Set on a side-by-side child: the build of the process that started it (the CLI's and the library's module version ids).</summary>
    public const string BuildVariable = "PONDER_PARENT_BUILD";

    public static string Build =>
        $"{typeof(SideBySide).Assembly.ManifestModule.ModuleVersionId}/{typeof(SftOptions).Assembly.ManifestModule.ModuleVersionId}";   // the CLI and the library

    /// <summary>
    /// In a child started by <see cref="Train"/>: refuses to run when the executable on disk is another build than the
    /// one that started it (rebuilt meanwhile), whose training could differ from what the parent's report says.
    /// </summary>
    public static void RequireParentBuild(string verb) => RequireParentBuild(verb, Environment.GetEnvironmentVariable(BuildVariable));

    /// <summary>As <see cref="RequireParentBuild(string)"/> with the parent's build given (null or empty: not a child).</summary>
    public static void RequireParentBuild(string verb, string? parent)
    {
        if (parent is { Length: > 0 } && parent != Build)
            throw new InvalidOperationException($"{verb}: this build is not the one that started it side by side (the tool was rebuilt meanwhile); run it again");
    }

    // The child parses the options this run was given back into this run, or the runs would differ unsaid.
    private static void RequireSameRun(SftOptions run)
    {
        var parsed = TrainCommand.Parse(new Options("train sft", TrainCommand.Args(run)));
        if (parsed != run with { Model = parsed.Model } || System.Text.Json.JsonSerializer.Serialize(parsed.Model) != System.Text.Json.JsonSerializer.Serialize(run.Model))
            throw new InvalidOperationException($"train sft into '{run.Out}': its settings cannot all be given on a command line");
    }

    private static void Stop(IEnumerable<Process> processes)
    {
        foreach (var process in processes)
            try
            {
                if (!process.HasExited) process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException) { }                        // it ended meanwhile
    }

    // The ponder tool: its own executable, or `dotnet Ponder.Cli.dll` when run that way; null when another program hosts this code.
    private static (string File, string[] Prefix)? Launcher()
    {
        if (Assembly.GetEntryAssembly() is not { } entry || entry.GetName().Name != "Ponder.Cli" || Environment.ProcessPath is not { } path) return null;
        return Path.GetFileNameWithoutExtension(path) == "dotnet" ? (path, [entry.Location]) : (path, []);
    }

    private static Process Start((string File, string[] Prefix) launcher, SftOptions run)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(run.Out))!);
        var info = new ProcessStartInfo(launcher.File) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in (string[])[.. launcher.Prefix, "train", "sft", .. TrainCommand.Args(run)]) info.ArgumentList.Add(arg);
        info.Environment[TorchRuntime.ThreadsVariable] = "1";
        info.Environment[BuildVariable] = Build;                         // the child checks it runs this same build
        var log = new StreamWriter(run.Out + ".log") { AutoFlush = true };
        var process = new Process { StartInfo = info };
        var open = 2;
        void Line(string? line)
        {
            lock (log)
            {
                if (line is not null) log.WriteLine(line);
                else if (--open == 0) log.Dispose();                    // both streams ended
            }
        }
        process.OutputDataReceived += (_, e) => Line(e.Data);
        process.ErrorDataReceived += (_, e) => Line(e.Data);
        try
        {
            process.Start();
        }
        catch
        {
            log.Dispose();
            process.Dispose();
            throw;
        }
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }
}
