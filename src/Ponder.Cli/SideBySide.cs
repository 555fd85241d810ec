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
/// process writes its run folder and a log beside it (<c>DIR.log</c>). Where that cannot be done (not the CPU, fewer
/// cores than runs, or not running as the ponder tool itself) the runs go one after the other in this process.
/// </summary>
internal static class SideBySide
{
    public static void Train(IReadOnlyList<SftOptions> runs, Device device, IProgress<string>? progress)
    {
        ArgumentNullException.ThrowIfNull(runs);
        if (device.type != DeviceType.CPU || Environment.ProcessorCount < runs.Count || Launcher() is not { } launcher)
        {
            foreach (var run in runs) new SftTrainer(run, device).Run();
            return;
        }
        progress?.Report($"SFT runs side by side, one thread each: {string.Join(", ", runs.Select(r => r.Out + ".log"))}");
        var processes = runs.Select(run => Start(launcher, run)).ToList();
        var failures = new List<string>();
        foreach (var (process, run) in processes.Zip(runs))
        {
            process.WaitForExit();
            if (process.ExitCode != 0)
                failures.Add($"train sft into '{run.Out}' failed (exit {process.ExitCode}): {File.ReadLines(run.Out + ".log").LastOrDefault(l => l.Length > 0) ?? "no output"}");
            process.Dispose();
        }
        if (failures.Count > 0) throw new InvalidOperationException(string.Join("; ", failures));
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
        var log = new StreamWriter(run.Out + ".log") { AutoFlush = true };
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
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
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }
}
