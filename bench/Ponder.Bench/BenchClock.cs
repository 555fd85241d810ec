using System.Diagnostics;

namespace Ponder.Bench;

/// <summary>
/// The bench's stopwatch: wall time, or with <c>--cpu-time</c> the CPU time of this process (all its threads). On a
/// machine shared with other busy jobs, wall time counts the time spent waiting for a core; CPU time counts only the
/// work done, so with one torch thread (PONDER_THREADS=1) and one llama.cpp thread it stays a fair throughput measure.
/// </summary>
internal sealed class BenchClock
{
    private readonly Stopwatch? _wall;
    private readonly TimeSpan _cpuStart;

    private BenchClock(bool cpu)
    {
        if (cpu) _cpuStart = Process.GetCurrentProcess().TotalProcessorTime;
        else _wall = Stopwatch.StartNew();
    }

    /// <summary>Whether <see cref="StartNew"/> measures CPU time (set from <c>--cpu-time</c>).</summary>
    public static bool UseCpuTime { get; set; }

    public static BenchClock StartNew() => new(UseCpuTime);

    public static BenchClock StartCpu() => new(cpu: true);

    public TimeSpan Elapsed => _wall?.Elapsed ?? Process.GetCurrentProcess().TotalProcessorTime - _cpuStart;
}
