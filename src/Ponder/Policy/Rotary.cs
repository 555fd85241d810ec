using TorchSharp;
using static TorchSharp.torch;

namespace Ponder.Policy;

/// <summary>
/// Rotary position embedding tables in the Hugging Face Llama "rotate_half" convention: channel i of a head
/// is paired with channel i + hs/2 (not with its neighbour), both rotated by position · θ^(−2i/hs).
/// Tables are computed in fp32 exactly as transformers does, so imported checkpoints see the same angles.
/// The sine table carries rotate_half's sign (−sin on the first half), so applying it is three ops. A config's
/// <see cref="RopeScaling"/> (linear, llama3, yarn) scales the frequencies before the tables are made, and yarn's
/// attention factor the tables, as transformers does.
/// </summary>
/// <remarks>
/// Not a module and not registered anywhere: the tables are derived from the config, never trained or saved.
/// A copy per (device, dtype) is made on first use, so <c>model.to(device)</c> needs nothing from here.
/// </remarks>
internal sealed class Rotary : IDisposable
{
    private readonly Tensor _cos;                               // (P, hs) fp32, CPU
    private readonly Tensor _sin;                               // (P, hs) fp32, CPU, sign of rotate_half folded in
    private readonly Dictionary<(DeviceType, int, ScalarType), (Tensor Cos, Tensor Sin)> _copies = [];
    private readonly Scalar _lastPosition;                      // MaxPositions − 1, held for the clamp (Scalars)

    public Rotary(int headDim, int maxPositions, double theta, RopeScaling? scaling = null)
    {
        if (headDim % 2 != 0) throw new ArgumentException($"Rotary needs an even head dimension, got {headDim}.", nameof(headDim));
        MaxPositions = maxPositions;
        _lastPosition = maxPositions - 1;
        using var scope = NewDisposeScope();
        using var normal = inference_mode(false); // plain tensors: training may save them for backward
        using var noGrad = no_grad();
        var invFreq = InverseFrequencies(headDim, theta);                                          // (hs/2)
        if (scaling is not null) invFreq = scaling.Scale(invFreq, theta);
        var positions = arange(maxPositions, ScalarType.Int64).to(ScalarType.Float32);              // (P)
        var freqs = outer(positions, invFreq);                                                     // (P, hs/2)
        var angles = cat([freqs, freqs], 1);                                                       // (P, hs)
        var sign = cat([full(headDim / 2, -1f), ones(headDim / 2)]);                              // (hs)
        double attention = scaling?.AttentionFactor ?? 1;                                          // yarn scales cos and sin
        _cos = (attention == 1 ? angles.cos() : angles.cos() * attention).DetachFromDisposeScope();
        _sin = (angles.sin() * (attention == 1 ? sign : sign * attention)).DetachFromDisposeScope();
    }

    /// <summary>θ^(−2i/hs) for i below hs/2, in float32 as transformers computes them (before any scaling).</summary>
    internal static Tensor InverseFrequencies(int headDim, double theta)
    {
        var exponents = arange(0, headDim, 2, ScalarType.Int64).to(ScalarType.Float32) / headDim;  // (hs/2)
        return 1.0f / pow(tensor((float)theta), exponents);                                        // (hs/2)
    }

    /// <summary>Positions the tables cover (0 … MaxPositions − 1).</summary>
    public int MaxPositions { get; }

    /// <summary>The float32 CPU tables themselves, (MaxPositions, hs) each, the sine signed (for <see cref="FusedAppend"/>).</summary>
    internal (Tensor Cos, Tensor Sin) CpuTables => (_cos, _sin);

    /// <summary>
    /// cos and signed sin at <paramref name="positions"/> (B, T) on their device, in <paramref name="dtype"/>, shaped
    /// (B, 1, T, hs) to broadcast over heads. Positions are clamped into the table; callers keep real
    /// positions below <see cref="MaxPositions"/> (padding slots may carry any value).
    /// </summary>
    public (Tensor Cos, Tensor Sin) Lookup(Tensor positions, ScalarType dtype)
    {
        var (cos, sin) = Tables(positions.device, dtype);
        var (b, t) = (positions.shape[0], positions.shape[1]);
        var flat = positions.reshape(-1).clamp(Scalars.Zero, _lastPosition);                  // (B·T)
        var c = cos.index_select(0, flat).view(b, 1, t, -1);                            // (B, 1, T, hs)
        var s = sin.index_select(0, flat).view(b, 1, t, -1);                            // (B, 1, T, hs)
        return (c, s);
    }

    /// <summary>
    /// x·cos + rotate_half(x)·sin with rotate_half([x1, x2]) = [−x2, x1] along the last dim; swapping the halves
    /// is a roll by hs/2 and the minus sign is already in <paramref name="signedSin"/> (from <see cref="Lookup"/>).
    /// </summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor signedSin) =>
        addcmul(x * cos, x.roll(x.shape[^1] / 2, -1), signedSin, Scalars.One);                       // (B, h, T, hs)

    private (Tensor Cos, Tensor Sin) Tables(Device device, ScalarType dtype)
    {
        var key = (device.type, device.index, dtype);
        lock (_copies) // models may be shared by threads that each run their own generator
        {
            if (_copies.TryGetValue(key, out var tables)) return tables;
            using var normal = inference_mode(false); // first use may be inside the generator's inference mode
            using var noGrad = no_grad();
            tables = (_cos.to(dtype, device).DetachFromDisposeScope(), _sin.to(dtype, device).DetachFromDisposeScope());
            _copies[key] = tables;
            return tables;
        }
    }

    public void Dispose()
    {
        lock (_copies)
        {
            foreach (var (cos, sin) in _copies.Values)
            {
                cos.Dispose();
                sin.Dispose();
            }
            _copies.Clear();
        }
        _cos.Dispose();
        _sin.Dispose();
        _lastPosition.Dispose();
    }
}
