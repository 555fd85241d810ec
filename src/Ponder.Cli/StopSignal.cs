using System.Runtime.InteropServices;

namespace Ponder.Cli;

/// <summary>
/// Ctrl+C (SIGINT) or SIGTERM during a training run: the first asks the trainer to stop after its current step and
/// save a checkpoint (then <c>--resume</c> continues it); a second one ends the process at once, as usual.
/// </summary>
internal sealed class StopSignal : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly PosixSignalRegistration _interrupt, _terminate;
    private int _signals;

    private readonly string _unit;

    /// <param name="unit">What the trainer finishes before it stops: a step, or expert iteration's round.</param>
    public StopSignal(string unit = "step")
    {
        _unit = unit;
        _interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle);
        _terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle);
    }

    public CancellationToken Token => _stop.Token;

    /// <summary>Whether a stop was asked for.</summary>
    public bool Stopped => _stop.IsCancellationRequested;

    private void Handle(PosixSignalContext signal)
    {
        if (Interlocked.Increment(ref _signals) > 1) return;          // the default action: the process ends
        signal.Cancel = true;
        Console.Error.WriteLine($"ponder: stopping after this {_unit} and saving a checkpoint (again to stop at once)");
        try
        {
            _stop.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The run already ended.
        }
    }

    public void Dispose()
    {
        _interrupt.Dispose();
        _terminate.Dispose();
        _stop.Dispose();
    }
}
