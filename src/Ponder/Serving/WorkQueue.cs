using System.Threading.Channels;
using Ponder.Policy;

namespace Ponder.Serving;

/// <summary>
/// The model's only door: a bounded queue, one worker that drives the decode batch and one that runs searches. Plain
/// sampling requests join the decode batch (<see cref="BatchDecoder"/>: continuous batching) and are decoded together;
/// any other job (a search) runs on the second worker, one at a time, beside the batch: the two take turns at the model
/// a step at a time (their generators share <see cref="ModelTurns"/>; on CPU one step already uses every core), so
/// streams in the batch go on while a search runs, and a search is not held until the batch empties. A full queue
/// refuses at once rather than waiting; a job whose client went away before its turn is skipped, and one running sees
/// its token cancelled (a batched request leaves the batch at the next step). Searches and sampling requests wait in
/// limits of their own, so that searches queued behind a long one do not turn away requests the batch would take.
/// </summary>
internal sealed class WorkQueue : IAsyncDisposable
{
    private readonly Channel<Job> _channel = Channel.CreateUnbounded<Job>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Channel<Job> _searches = Channel.CreateUnbounded<Job>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly BatchDecoder _batch;
    private readonly int _capacity;
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationToken _stoppingToken;     // _stopping's, kept: a request ends after the source is disposed
    private readonly Task _worker, _searcher;
    private readonly object _gateLock = new();
    private TaskCompletionSource? _gate;            // set while paused (tests fill the queue deterministically)
    private readonly bool _searchesBeside;
    private int _waiting, _waitingSearches, _completed, _cancelled, _failed, _searching;

    /// <param name="capacity">
    /// Sampling requests that may wait for the batch, and searches that may wait for their turn (each count on its own;
    /// not counting those being worked on); one more is refused.
    /// </param>
    /// <param name="batch">The decoder that plain sampling requests join; the worker alone drives it.</param>
    /// <param name="searchesBeside">
    /// Whether searches run beside the batch (the default) rather than on the batch's worker between two of its steps,
    /// the batch waiting for each whole search (the benchmark's <c>--serve-search</c> compares the two).
    /// </param>
    public WorkQueue(int capacity, BatchDecoder batch, bool searchesBeside = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        (_capacity, _batch, _stoppingToken, _searchesBeside) = (capacity, batch ?? throw new ArgumentNullException(nameof(batch)), _stopping.Token, searchesBeside);
        _worker = Task.Run(RunAsync);
        _searcher = Task.Run(RunSearchesAsync);
    }

    /// <summary>Requests waiting for their turn: queued searches, and sampling requests none of whose rows has joined the batch yet.</summary>
    public int Waiting => Volatile.Read(ref _waiting) + Volatile.Read(ref _waitingSearches);

    /// <summary>Whether the queue has begun to stop (it takes no more work; <c>/health</c> answers 503).</summary>
    public bool Stopping => _stoppingToken.IsCancellationRequested;

    public int Completed => Volatile.Read(ref _completed);

    /// <summary>Jobs skipped or stopped because their client cancelled.</summary>
    public int Cancelled => Volatile.Read(ref _cancelled);

    public int Failed => Volatile.Read(ref _failed);

    /// <summary>Searches (jobs other than sampling) running now.</summary>
    public int Searching => Volatile.Read(ref _searching);

    /// <summary>Largest number of rows decoded in one batch so far.</summary>
    public int PeakBatchRows => Volatile.Read(ref _peakRows);

    /// <summary>Mean rows of a decode step so far (0 before the first).</summary>
    public double MeanBatchRows => BatchSteps == 0 ? 0 : BatchRowSteps / (double)BatchSteps;

    /// <summary>Joins of arriving rows to the decode batch so far.</summary>
    public long BatchJoins => Volatile.Read(ref _joins);

    /// <summary>Rows the decode batch runs now (completions not yet finished), as of its last step.</summary>
    public int BatchRowsRunning => Volatile.Read(ref _liveRows);

    /// <summary>Decode steps the batch has taken.</summary>
    public long BatchSteps => Volatile.Read(ref _steps);

    /// <summary>Rows summed over the batch's steps: each a token sampled, counted as it is decoded.</summary>
    public long BatchRowSteps => Volatile.Read(ref _rowSteps);

    private int _peakRows;
    private long _joins;
    private int _liveRows;
    private long _steps, _rowSteps;

    /// <summary>
    /// Queues <paramref name="work"/> (a search), to run after the searches queued before it, beside the decode batch; its
    /// task ends with the work (cancelled when the token fires). Null when the queue is full.
    /// </summary>
    public Task? TryEnqueue(Func<CancellationToken, Task> work, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(work);
        var job = new Job(work, null, cancellation, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!Enter(job)) return null;
        // A search whose client goes away while it waits frees its place at once (it may wait behind long searches).
        job.Registration = cancellation.Register(() => CancelWaiting(job, cancellation));
        return job.Done.Task;
    }

    /// <summary>
    /// Queues <paramref name="n"/> continuations of each of <paramref name="prompts"/> to join the decode batch
    /// (<see cref="BatchDecoder.Add"/>, a request each), as one job: the task completes with them, prompt after prompt;
    /// <paramref name="progress"/> hears (prompt, choice, the choice's generation so far); <paramref name="first"/>, when given, runs on the worker,
    /// alone on the model, before the prompts join (scoring an echoed prompt). Null when the queue is full.
    /// </summary>
    public Task<IReadOnlyList<Generation>>? TryEnqueueSampling(IReadOnlyList<(int[] Ids, SamplingOptions Options)> prompts, int n,
        Action<int, int, RowProgress>? progress, CancellationToken cancellation, int topLogProbs = 0, Action<CancellationToken>? first = null)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        if (prompts.Count == 0) throw new ArgumentException("Give at least one prompt.", nameof(prompts));
        var sampling = new SamplingJob(prompts, n, progress, topLogProbs, first, new TaskCompletionSource<IReadOnlyList<Generation>>(TaskCreationOptions.RunContinuationsAsynchronously));
        var job = new Job(null, sampling, cancellation, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        return Enter(job) ? sampling.Result.Task : null;
    }

    private bool Enter(Job job)
    {
        ref var waiting = ref WaitingOf(job);
        if (Interlocked.Increment(ref waiting) > _capacity)
        {
            Interlocked.Decrement(ref waiting);
            return false;
        }
        if (_channel.Writer.TryWrite(job)) return true;
        job.Claim();
        Interlocked.Decrement(ref waiting);                 // the queue is stopping
        Interlocked.Increment(ref _cancelled);              // shutdown stopped it, as the cancelled count says
        job.Done.TrySetCanceled();
        job.Sampling?.Result.TrySetCanceled();
        return true;
    }

    /// <summary>
    /// Holds the workers before their next job or decode step until the result is disposed (a search already running
    /// goes on).
    /// </summary>
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
                await UnpausedAsync().ConfigureAwait(false);
                if (reader.TryRead(out var job))
                {
                    if (job.Sampling is { } sampling) Join(job, sampling);
                    else if (_searchesBeside) _searches.Writer.TryWrite(job);
                    else await RunJobAsync(job).ConfigureAwait(false);
                }
                else if (_batch.Busy)
                {
                    _batch.Step();
                    Volatile.Write(ref _peakRows, _batch.PeakRows);
                    Volatile.Write(ref _joins, _batch.Joins);
                    Volatile.Write(ref _liveRows, _batch.LiveRows);
                    Volatile.Write(ref _steps, _batch.Steps);
                    Volatile.Write(ref _rowSteps, _batch.RowSteps);
                }
                else if (!await reader.WaitToReadAsync(_stopping.Token).ConfigureAwait(false)) return;
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
        finally
        {
            _searches.Writer.TryComplete();
            _batch.CancelAll(_stopping.Token);
            _batch.Dispose();
        }
    }

    // The search worker: the jobs the batch's worker hands over, one at a time.
    private async Task RunSearchesAsync()
    {
        var reader = _searches.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_stopping.Token).ConfigureAwait(false))
                while (true)
                {
                    await UnpausedAsync().ConfigureAwait(false);
                    if (!reader.TryRead(out var job)) break;
                    await RunJobAsync(job).ConfigureAwait(false);
                }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
    }

    // Waits while the queue is paused; throws once it is stopping.
    private async Task UnpausedAsync()
    {
        Task? gate;
        lock (_gateLock) gate = _gate?.Task;
        if (gate is not null) await gate.WaitAsync(_stopping.Token).ConfigureAwait(false);
        _stopping.Token.ThrowIfCancellationRequested();
    }

    // Hands a sampling job's prompts to the batch, a request each: the job stops counting as waiting once a row of it
    // joins (or it ends first), and ends when all its requests have.
    private void Join(Job job, SamplingJob sampling)
    {
        var waiting = 1;
        void Leave()
        {
            if (Interlocked.Exchange(ref waiting, 0) == 1) Interlocked.Decrement(ref _waiting);
        }
        // The job's requests share a token: the client going away, or one of them failing, stops them all (the decoder
        // drops cancelled requests at its next step; only the worker touches it).
        var siblings = CancellationTokenSource.CreateLinkedTokenSource(job.Cancellation);
        var requests = new List<Task<IReadOnlyList<Generation>>>();
        try
        {
            if (sampling.First is { } first)
            {
                using var run = CancellationTokenSource.CreateLinkedTokenSource(job.Cancellation, _stopping.Token);
                first(run.Token);
            }
            for (var p = 0; p < sampling.Prompts.Count; p++)
            {
                var prompt = p;
                Action<int, RowProgress>? progress = sampling.Progress is { } each ? (row, sofar) => each(prompt, row, sofar) : null;
                var done = _batch.Add(sampling.Prompts[p].Ids, sampling.N, sampling.Prompts[p].Options, progress, siblings.Token, Leave, sampling.TopLogProbs).Done;
                _ = done.ContinueWith(_ => StopAll(siblings), CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                requests.Add(done);
            }
        }
        catch (Exception e)
        {
            siblings.Cancel();
            End(e is OperationCanceledException ? null : [e], null);
            return;
        }
        Task.WhenAll(requests).ContinueWith(done => End(done.IsFaulted ? done.Exception!.InnerExceptions : null, done.IsCompletedSuccessfully ? done.Result : null),
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

        // Settles the job once: failed with `errors`, done with `results`, else cancelled.
        void End(IEnumerable<Exception>? errors, IReadOnlyList<Generation>[]? results)
        {
            siblings.Dispose();
            Leave();
            if (errors is not null)
            {
                Interlocked.Increment(ref _failed);
                sampling.Result.TrySetException(errors);
            }
            else if (results is null)
            {
                Interlocked.Increment(ref _cancelled);
                sampling.Result.TrySetCanceled(job.Cancellation.IsCancellationRequested ? job.Cancellation : _stoppingToken);
            }
            else
            {
                Interlocked.Increment(ref _completed);
                sampling.Result.TrySetResult(results.SelectMany(g => g).ToArray());
            }
        }
    }

    private static void StopAll(CancellationTokenSource siblings)
    {
        try
        {
            siblings.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The job already ended.
        }
    }

    // The count a job waits in: sampling requests and searches each have their own.
    private ref int WaitingOf(Job job) => ref job.Sampling is null ? ref _waitingSearches : ref _waiting;

    // Takes a job that has not started out of the waiting ones as cancelled (once: a job already claimed is left alone).
    private void CancelWaiting(Job job, CancellationToken token)
    {
        if (!job.Claim()) return;
        Interlocked.Decrement(ref WaitingOf(job));
        Interlocked.Increment(ref _cancelled);
        job.Done.TrySetCanceled(token);
        job.Sampling?.Result.TrySetCanceled(token);
    }

    private async Task RunJobAsync(Job job)
    {
        if (!job.Claim()) return;                            // its client went away while it waited (already settled)
        job.Registration.Dispose();
        Interlocked.Decrement(ref _waitingSearches);
        if (job.Cancellation.IsCancellationRequested)
        {
            Interlocked.Increment(ref _cancelled);
            job.Done.TrySetCanceled(job.Cancellation);
            return;
        }
        using var run = CancellationTokenSource.CreateLinkedTokenSource(job.Cancellation, _stopping.Token);   // a stopping server stops its running job too
        Interlocked.Increment(ref _searching);
        try
        {
            await job.Work!(run.Token).ConfigureAwait(false);
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
        finally
        {
            Interlocked.Decrement(ref _searching);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _channel.Writer.TryComplete();
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await _worker.ConfigureAwait(false);
        }
        finally
        {
            _searches.Writer.TryComplete();
            try
            {
                await _searcher.ConfigureAwait(false);
            }
            finally
            {
                while (_channel.Reader.TryRead(out var job) || _searches.Reader.TryRead(out job))
                {
                    job.Registration.Dispose();
                    CancelWaiting(job, CancellationToken.None);
                }
                _stopping.Dispose();
            }
        }
    }

    private sealed record Job(Func<CancellationToken, Task>? Work, SamplingJob? Sampling, CancellationToken Cancellation, TaskCompletionSource Done)
    {
        private int _claimed;

        /// <summary>A search's hook on its client's token, freeing its place while it waits.</summary>
        public CancellationTokenRegistration Registration { get; set; }

        /// <summary>Whether this call is the first to take the job out of the waiting ones (to run it, drop it or cancel it).</summary>
        public bool Claim() => Interlocked.Exchange(ref _claimed, 1) == 0;
    }

    private sealed record SamplingJob(IReadOnlyList<(int[] Ids, SamplingOptions Options)> Prompts, int N, Action<int, int, RowProgress>? Progress,
        int TopLogProbs, Action<CancellationToken>? First, TaskCompletionSource<IReadOnlyList<Generation>> Result);

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
