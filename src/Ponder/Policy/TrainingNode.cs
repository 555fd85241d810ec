using static TorchSharp.torch;

namespace Ponder.Policy;

/// <summary>
/// What every C# autograd node of the training path (<see cref="Transformer.TrainingKernels"/>) has beside its passes:
/// its name, and a count of the forward passes it ran in this process (tests check which path a pass took).
/// </summary>
internal abstract class TrainingNode<T> : autograd.SingleTensorFunction<T> where T : TrainingNode<T>, new()
{
    private static long _calls;

    /// <summary>Forward passes run by this node so far in this process.</summary>
    public static long Calls => Interlocked.Read(ref _calls);

    public override string Name => typeof(T).Name;

    /// <summary>Counts one forward pass; each node's forward calls it first.</summary>
    protected static void Count() => Interlocked.Increment(ref _calls);
}
