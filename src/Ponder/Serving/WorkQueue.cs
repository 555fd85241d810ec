using System.Threading.Channels;

namespace Ponder.Serving;

/// <summary>
/// The model's only door: a bounded queue and one worker that runs one job at a time (a libtorch model is not
/// thread-safe, and on CPU one job already uses every thread). A full queue refuses at once rather than waiting;
/// a job whose client went away before its turn is skipped, and one running sees its token cancelled.
/// </summary>
internal sealed class WorkQueue : IAsyncDisposable
{
    private readonly Channel<Job> _channel;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _worker;
    private readonly object _gateLock = new();
    private TaskCompletionSource? _gate;            // set while paused (tests fill the queue deterministically)
    private int _completed, _cancelled, _failed;

    public WorkQueue(int capacity)
    {
        _channel = Channel.CreateBounded<Job>(new BoundedChannelOptions(capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        _worker = Task.Run(RunAsync);
    }

    /// <summary>Jobs waiting for their turn.</summary>
    public int Waiting => _channel.Reader.Count;

    public int Completed => Volatile.Read(ref _completed);

    /// <summary>Jobs skipped or stopped because their client cancelled.</summary>
    public int Cancelled => Volatile.Read(ref _cancelled);

    public int Failed => Volatile.Read(ref _failed);

    /// <summary>Queues <paramref name="work"/>; its task ends with the work (cancelled when the token fires). Null when the queue is full.</summary>
    public Task? TryEnqueue(Func<CancellationToken, Task> work, CancellationToken cancellation)
    {
        var job = new Job(work, cancellation, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        return _channel.Writer.TryWrite(job) ? job.Done.Task : null;
    }

    /// <summary>Holds the worker before its next job until the result is disposed.</summary>
    public IDisposable Pause()
    {
        lock (_gateLock) _gate ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return new Resume(this);
    }

    private async Task RunAsync()
    {
        var reader = _channel.Reader;
        try
        {
            while (true)
            {
                Task? gate;
                lock (_gateLock) gate = _gate?.Task;
                if (gate is not null) await gate.WaitAsync(_stopping.Token).ConfigureAwait(false);
                if (reader.TryRead(out var job)) await RunJobAsync(job).ConfigureAwait(false);
                else if (!await reader.WaitToReadAsync(_stopping.Token).ConfigureAwait(false)) return;
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
    }

    private async Task RunJobAsync(Job job)
    {
        if (job.Cancellation.IsCancellationRequested)
        {
            Interlocked.Increment(ref _cancelled);
            job.Done.TrySetCanceled(job.Cancellation);
            return;
        }
        using var run = CancellationTokenSource.CreateLinkedTokenSource(job.Cancellation, _stopping.Token);   // a stopping server stops its running job too
        try
        {
            await job.Work(run.Token).ConfigureAwait(false);
            Interlocked.Increment(ref _completed);
            job.Done.TrySetResult();
        }
        catch (OperationCanceledException) when (run.IsCancellationRequested)
        {
            Interlocked.Increment(ref _cancelled);
            job.Done.TrySetCanceled(run.Token);
        }
        catch (Exception e)
        {
            Interlocked.Increment(ref _failed);
            job.Done.TrySetException(e);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _channel.Writer.TryComplete();
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _worker.ConfigureAwait(false);
        while (_channel.Reader.TryRead(out var job)) job.Done.TrySetCanceled();
        _stopping.Dispose();
    }

    private sealed record Job(Func<CancellationToken, Task> Work, CancellationToken Cancellation, TaskCompletionSource Done);

    private sealed class Resume(WorkQueue queue) : IDisposable
    {
        public void Dispose()
        {
            lock (queue._gateLock)
            {
                queue._gate?.TrySetResult();
                queue._gate = null;
            }
        }
    }
}
