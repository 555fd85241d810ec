using System.Runtime.CompilerServices;
using TorchSharp;

namespace Ponder.Tests.Policy;

/// <summary>
/// The build patches TorchSharp so that a Scalar made from a number stays reachable from its thread for the next 4,096
/// Scalars it makes (build/KeepTorchScalars.targets); without it, a collection started by another thread mid-call
/// frees the Scalar the call is reading.
/// </summary>
public class TorchScalarTests
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference Temporary(double value)
    {
        Scalar scalar = value;                      // what TorchSharp does with a number passed as a Scalar
        return new WeakReference(scalar);
    }

    private static void Collect()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    [Fact]
    public void A_scalar_made_from_a_number_outlives_collections_until_its_thread_has_made_4096_more()
    {
        var first = Temporary(0.5);
        Collect();
        Assert.True(first.IsAlive, "a Scalar made from a number was collected at once: is TorchSharp.dll in the output unpatched?");
        var alive = new List<WeakReference>();
        for (var i = 0; i < 4095; i++) alive.Add(Temporary(i));
        Collect();
        Assert.True(first.IsAlive);
        for (var i = 0; i < 8; i++) Temporary(i);
        Collect();
        Assert.False(first.IsAlive);                 // kept, not leaked
        Assert.True(alive[^1].IsAlive);
        using var x = torch.ones(3);
        using var sum = x.add(x);                   // add(x, 1) inside: a Scalar made by TorchSharp itself
        using var y = sum.mul(2);
        Assert.Equal(4f, y[0].item<float>());
    }
}
