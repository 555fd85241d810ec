using System.Runtime.ExceptionServices;

namespace Ponder.Policy;

/// <summary>
/// Runs the parts of a C# kernel (rows of a decode step, blocks of a linear's outputs) on the calling thread and on
/// dedicated worker threads that wait between calls, instead of <c>Parallel.For</c>.
/// </summary>
/// <remarks>
/// Why not <c>Parallel.For</c>: it allocates on its worker threads, and a garbage collection started by another thread
/// while the calling thread is inside a libtorch call can run the finalizer of a TorchSharp <c>Scalar</c> that call
/// is still reading (TorchSharp turns numbers into Scalars that only their finalizer frees, <c>a + b</c> included). A
/// full demo failed that way once the decode steps ran their rows on <c>Parallel.For</c> (c10's "alpha must not be a
/// floating point number" in an integer add). These workers allocate nothing per call. One caller at a time uses them;
/// another caller meanwhile, or a part that itself asks for parts, runs its parts one after another on its own thread
/// (the same results: a part never depends on which thread runs it).
///
/// A decode step calls here every few hundred microseconds. Waking a blocked thread costs tens of microseconds on Linux
/// (more on a loaded machine), and at a batch-64 step of the default model that was about a tenth of the step. So both
/// sides spin first: a worker watches for the next call for up to <see cref="SpinTicks"/> before it blocks, and the
/// caller watches for the workers' last part the same way before it blocks. Outside decode loops the workers block
/// after that short spin, as before.
/// </remarks>
internal static class RowWorkers
{
    private static int _busy;                                   // 1 while a caller holds the workers (not re-entrant)
    private static readonly ManualResetEventSlim Finished = new(false);
    private static readonly List<ManualResetEventSlim> Starts = [];
    private static readonly long[] Allocated = new long[256];      // each worker's allocated bytes after its last part
    private static Action<int>? _body;
    private static Exception? _error;
    private static int _remaining;
    private static bool _linger = true;                         // whether workers spin for the next call (the latest call's choice)
    private static long _call;                                  // (calls started so far) << 32 | (workers the latest one uses)

    /// <summary>How long a waiting thread spins before it blocks: 1 ms, several decode steps' gaps.</summary>
    private static readonly long SpinTicks = System.Diagnostics.Stopwatch.Frequency / 1000;

    /// <summary>
    /// Calls <paramref name="body"/>(p) for p in [0, parts): part 0 on this thread, the others on the workers. With
    /// <paramref name="linger"/> false the workers block as soon as their parts are done instead of spinning for the next
    /// call: for callers between libtorch ops (a training step), whose threads would otherwise share a core with the spin.
    /// </summary>
    public static void For(int parts, Action<int> body, bool linger = true)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (parts <= 1 || Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            for (var p = 0; p < parts; p++) body(p);
            return;
        }
        try
        {
            while (Starts.Count < parts - 1) StartWorker(Starts.Count);
            (_body, _error, _remaining, _linger) = (body, null, parts - 1, linger);
            Finished.Reset();
            // One write says both which call this is and how many workers it uses, so a worker never reads one without the other.
            Interlocked.Exchange(ref _call, ((_call >> 32) + 1 << 32) | (uint)(parts - 1));
            for (var i = 0; i < parts - 1; i++) Starts[i].Set();
            Exception? own = null;
            try
            {
                body(0);
            }
            catch (Exception e)
            {
                own = e;
            }
            // The count is the truth: Finished may still be set by the previous call's last worker, whose Set can land
            // after this caller, done spinning, has reset it for this call.
            while (!SpinUntil(static _ => Volatile.Read(ref _remaining) == 0, 0))
            {
                Finished.Wait();
                Finished.Reset();
            }
            _body = null;
            if (own is not null) ExceptionDispatchInfo.Throw(own);
            if (_error is not null) ExceptionDispatchInfo.Throw(_error);
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    /// <summary>
    /// Parts to split <paramref name="rows"/> rows into: the torch threads, as long as each part gets at least
    /// <paramref name="minRowsPerPart"/> rows (fewer rows do not pay for waking a worker).
    /// </summary>
    public static int PartsFor(int rows, int minRowsPerPart) =>
        rows >= 2 * minRowsPerPart ? Math.Max(1, Math.Min(TorchSharp.torch.get_num_threads(), rows / minRowsPerPart)) : 1;

    /// <summary>
    /// Calls <paramref name="range"/>(start, end) over [0, <paramref name="rows"/>) in <see cref="PartsFor"/> parts;
    /// the workers block when done (<c>linger: false</c>, for callers between libtorch ops).
    /// </summary>
    public static void ForRows(int rows, int minRowsPerPart, Action<int, int> range)
    {
        var parts = PartsFor(rows, minRowsPerPart);
        For(parts, part => range((int)((long)rows * part / parts), (int)((long)rows * (part + 1) / parts)), linger: false);
    }

    /// <summary>
    /// Calls <paramref name="range"/>(start, end) over [0, <paramref name="count"/>) split into at most
    /// <paramref name="threads"/> parts whose bounds are multiples of <paramref name="block"/> (a kernel's output
    /// blocks); with one part, on this thread alone.
    /// </summary>
    public static void ForBlocks(int count, int block, int threads, Action<int, int> range)
    {
        var blocks = (count + block - 1) / block;
        var parts = Math.Min(threads, blocks);
        if (parts <= 1)
        {
            range(0, count);
            return;
        }
        For(parts, part => range((int)((long)blocks * part / parts) * block, Math.Min(count, (int)((long)blocks * (part + 1) / parts) * block)));
    }

    // Spins (yielding) until `done(state)` holds or SpinTicks pass; whether it held. `done` must be a static lambda (no
    // allocation): what it reads beyond the statics comes in `state`.
    private static bool SpinUntil<T>(Func<T, bool> done, T state)
    {
        var until = System.Diagnostics.Stopwatch.GetTimestamp() + SpinTicks;
        var spin = new SpinWait();
        while (!done(state))
        {
            if (System.Diagnostics.Stopwatch.GetTimestamp() > until) return false;
            spin.SpinOnce(sleep1Threshold: -1);
        }
        return true;
    }

    /// <summary>Bytes worker <paramref name="index"/> (from 0) had allocated on its thread when it last finished a part (tests).</summary>
    internal static long AllocatedBytes(int index) => Volatile.Read(ref Allocated[index]);

    private static void StartWorker(int index)
    {
        var start = new ManualResetEventSlim(false);
        Starts.Add(start);
        var seen = Volatile.Read(ref _call) >> 32;                 // calls before the one that starts this worker
        var thread = new Thread(() =>
        {
            while (true)
            {
                // Reset before looking, so that a call started after the look still finds the event set; a wake-up
                // without a new call (a Set that landed after this worker had already seen its call) only loops.
                start.Reset();
                var call = Volatile.Read(ref _call);
                if (call >> 32 == seen)
                {
                    if (!Volatile.Read(ref _linger) || !SpinUntil(static last => Volatile.Read(ref _call) >> 32 != last, seen)) start.Wait(); // until a later call starts
                    continue;
                }
                seen = call >> 32;
                if (index >= (int)(uint)call) continue;                // a call of fewer parts: not this worker's
                try
                {
                    _body!(index + 1);
                }
                catch (Exception e)
                {
                    _error = e;
                }
                if (index < Allocated.Length) Volatile.Write(ref Allocated[index], GC.GetAllocatedBytesForCurrentThread());
                if (Interlocked.Decrement(ref _remaining) == 0) Finished.Set();
            }
        })
        {
            IsBackground = true,
            Name = $"Ponder row worker {index + 1}",
        };
        thread.Start();
    }
}
