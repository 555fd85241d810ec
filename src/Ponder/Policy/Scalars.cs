using TorchSharp;

namespace Ponder.Policy;

/// <summary>
/// Scalars that live as long as the process, for the paths that run every step. Where TorchSharp expects a
/// <see cref="Scalar"/>, a plain number becomes a new native scalar that only its finalizer frees, and nothing keeps it
/// alive while the native call reads it: a garbage collection started by another thread can free it mid-call. It was
/// seen once in the parallel test run, as c10's "Expected false to be true" from <c>Scalar::toFloat</c> inside
/// <see cref="Rotary.Apply"/>. The build now patches TorchSharp so that every Scalar stays reachable from its thread
/// for the next 4,096 it makes (build/KeepTorchScalars.targets), which covers the Scalars TorchSharp makes itself
/// (<c>a + b</c> passes 1 as add's alpha). Hot paths still pass these, or hold their own (a field, or <c>using</c>):
/// they allocate nothing per call.
/// </summary>
internal static class Scalars
{
    public static readonly Scalar Zero = 0;
    public static readonly Scalar One = 1;
    public static readonly Scalar Two = 2;
    public static readonly Scalar MinusOne = -1;
    public static readonly Scalar True = true;
    public static readonly Scalar False = false;
    public static readonly Scalar NegativeInfinity = double.NegativeInfinity;
    /// <summary>The floor of the Gumbel noise's exponential draws before their log.</summary>
    public static readonly Scalar Tiny = 1e-30;
}
