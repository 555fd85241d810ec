namespace Ponder.Policy;

/// <summary>
/// Turns at a model for the threads that share it: generators given the same turns (<see cref="Generator.Turns"/>) run
/// their model calls (a prefill, one decode step) one at a time, first come, first served, so two decode loops on
/// different threads alternate step by step instead of one waiting for the other's whole generation (a server's
/// decode batch and a search beside it). A thread that holds the turn may take it again (nested calls). A turn is
/// ended by disposing what <see cref="Take"/> returns, on the thread that took it: a <c>ref struct</c>, so that it
/// cannot be held across an <c>await</c> (which may resume on another thread).
/// </summary>
public sealed class ModelTurns
{
    private readonly object _lock = new();
    private readonly HashSet<long> _abandoned = [];   // tickets whose threads stopped waiting (an interrupted wait)
    private long _next, _serving;             // tickets handed out so far; the ticket whose turn it is
    private int _owner, _depth;               // the managed thread holding the turn (0: none), and its nested takes

    /// <summary>Waits for this thread's turn (at once if it holds it already) and holds it until the result is disposed.</summary>
    public Turn Take()
    {
        var me = Environment.CurrentManagedThreadId;
        lock (_lock)
        {
            if (_owner == me)
            {
                _depth++;
                return new Turn(this);
            }
            var ticket = _next++;
            try
            {
                while (ticket != _serving) Monitor.Wait(_lock);
            }
            catch
            {
                // The wait was interrupted: the ticket is given up, so the threads behind it are not held forever.
                if (ticket == _serving) Advance();
                else _abandoned.Add(ticket);
                throw;
            }
            (_owner, _depth) = (me, 1);
        }
        return new Turn(this);
    }

    /// <summary>This thread's turn at <paramref name="turns"/> until disposed, or none (the default value) without turns.</summary>
    public static Turn TakeOrNone(ModelTurns? turns) => turns is null ? default : turns.Take();

    /// <summary>Threads waiting for a turn now (tests).</summary>
    internal int Waiting
    {
        get
        {
            lock (_lock) return (int)(_next - _serving - (_owner == 0 ? 0 : 1)) - _abandoned.Count;
        }
    }

    private void Leave()
    {
        lock (_lock)
        {
            if (_owner != Environment.CurrentManagedThreadId) throw new InvalidOperationException("A model turn was ended by a thread that does not hold it.");
            if (--_depth > 0) return;
            _owner = 0;
            Advance();
        }
    }

    // The next ticket's turn (skipping given-up ones); under the lock.
    private void Advance()
    {
        do _serving++;
        while (_abandoned.Remove(_serving));
        Monitor.PulseAll(_lock);
    }

    /// <summary>A turn held; disposing it ends it (the default value holds none).</summary>
    public readonly ref struct Turn
    {
        private readonly ModelTurns? _turns;

        internal Turn(ModelTurns turns) => _turns = turns;

        public void Dispose() => _turns?.Leave();
    }
}
