using Ponder.Learning;

namespace Ponder.Cli;

/// <summary>
/// Training progress: a one-line bar redrawn in place on a terminal; plain lines every
/// <c>plainEvery</c> steps when output is redirected (a bar would print nothing useful there).
/// Messages (evaluations, checkpoints) always get their own line.
/// </summary>
public sealed class ConsoleProgress(string label, int plainEvery = 100) : IProgress<TrainProgress>
{
    readonly bool terminal = !Console.IsOutputRedirected;
    readonly DateTime start = DateTime.UtcNow;

    public void Report(TrainProgress p)
    {
        if (p.Message is not null)
        {
            if (terminal) Console.Write("\r\x1b[K");
            Console.WriteLine($"[{label}] {p.Message}");
            return;
        }
        string speed = p.TokensPerSecond > 0 ? $" {p.TokensPerSecond / 1000:F1}k tok/s" : "";
        string line = $"[{label}] step {p.Step}/{p.TotalSteps} loss {p.Loss:F4}{speed} {(DateTime.UtcNow - start).TotalSeconds:F0}s";
        if (terminal)
        {
            const int width = 24;
            int filled = (int)(width * p.Step / Math.Max(1, p.TotalSteps));
            Console.Write($"\r\x1b[K[{new string('#', filled)}{new string('.', width - filled)}] {line}");
        }
        else if (p.Step % plainEvery == 0 || p.Step == p.TotalSteps)
            Console.WriteLine(line);
    }
}
