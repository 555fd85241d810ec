using Ponder.Rewards;
using Ponder.Search;
using Ponder.Tasks;

namespace Ponder.Tests.Serving;

/// <summary>
/// A PRM that holds the search in its first call (scores of 0.5 for every step) until the test releases it, the hold
/// runs out, or the search is cancelled: search hands its <see cref="ComputeMeter"/> as the cache scope
/// (<see cref="IPrefixCachedReward"/>), and the meter carries the search's cancellation. Later calls return at once.
/// </summary>
internal sealed class HoldingPrm(TimeSpan hold) : IPrefixCachedReward
{
    private readonly TaskCompletionSource _held = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _calls;

    public HoldingPrm() : this(TimeSpan.FromSeconds(30))
    {
    }

    public int Calls => Volatile.Read(ref _calls);

    /// <summary>Completes when the first call starts holding.</summary>
    public Task Held => _held.Task;

    /// <summary>True when the first call ended because its search was cancelled.</summary>
    public bool SawCancellation { get; private set; }

    public void Release() => _release.TrySetResult();

    public IReadOnlyList<IReadOnlyList<double>> ScoreSteps(IReadOnlyList<Problem> problems, IReadOnlyList<IReadOnlyList<string>> steps) =>
        ScoreSteps(new object(), problems, steps);

    public IReadOnlyList<IReadOnlyList<double>> ScoreSteps(object scope, IReadOnlyList<Problem> problems, IReadOnlyList<IReadOnlyList<string>> steps)
    {
        if (Interlocked.Increment(ref _calls) == 1)
        {
            var cancellation = scope is ComputeMeter meter ? meter.Cancellation : CancellationToken.None;
            _held.SetResult();
            SawCancellation = Task.WaitAny([_release.Task, Task.Delay(Timeout.Infinite, cancellation)], hold) == 1;
        }
        return steps.Select(s => (IReadOnlyList<double>)s.Select(_ => 0.5).ToList()).ToList();
    }
}
