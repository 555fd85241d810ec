using TorchSharp;
using static TorchSharp.torch;

namespace Ponder.Policy;

/// <summary>
/// Rotary position embedding tables in the Hugging Face Llama "rotate_half" convention: channel i of a head
/// is paired with channel i + hs/2 (not with its neighbour), both rotated by position · θ^(−2i/hs).
/// Tables are computed in fp32 exactly as transformers does, so imported checkpoints see the same angles.
/// </summary>
/// <remarks>
/// Not a module and not registered anywhere: the tables are derived from the config, never trained or saved.
/// A copy per (device, dtype) is made on first use, so <c>model.to(device)</c> needs nothing from here.
/// </remarks>
internal sealed class Rotary : IDisposable
{
    private readonly Tensor _cos;                               // (P, hs) fp32, CPU
    private readonly Tensor _sin;                               // (P, hs) fp32, CPU
    private readonly Dictionary<(DeviceType, int, ScalarType), (Tensor Cos, Tensor Sin)> _copies = [];

    public Rotary(int headDim, int maxPositions, double theta)
    {
        if (headDim % 2 != 0) throw new ArgumentException($"Rotary needs an even head dimension, got {headDim}.", nameof(headDim));
        MaxPositions = maxPositions;
        using var scope = NewDisposeScope();
        using var normal = inference_mode(false); // plain tensors: training may save them for backward
        using var noGrad = no_grad();
        var exponents = arange(0, headDim, 2, ScalarType.Int64).to(ScalarType.Float32) / headDim;  // (hs/2)
        var invFreq = 1.0f / pow(tensor((float)theta), exponents);                                 // (hs/2)
        var positions = arange(maxPositions, ScalarType.Int64).to(ScalarType.Float32);              // (P)
        var freqs = outer(positions, invFreq);                                                     // (P, hs/2)
        var angles = cat([freqs, freqs], 1);                                                       // (P, hs)
        _cos = angles.cos().DetachFromDisposeScope();
        _sin = angles.sin().DetachFromDisposeScope();
    }

    /// <summary>Positions the tables cover (0 … MaxPositions − 1).</summary>
    public int MaxPositions { get; }

    /// <summary>
    /// cos and sin at <paramref name="positions"/> (B, T) on their device, in <paramref name="dtype"/>, shaped
    /// (B, 1, T, hs) to broadcast over heads. Positions are clamped into the table; callers keep real
    /// positions below <see cref="MaxPositions"/> (padding slots may carry any value).
    /// </summary>
    public (Tensor Cos, Tensor Sin) Lookup(Tensor positions, ScalarType dtype)
    {
        var (cos, sin) = Tables(positions.device, dtype);
        var (b, t) = (positions.shape[0], positions.shape[1]);
        var flat = positions.reshape(-1).clamp(0, MaxPositions - 1);                  // (B·T)
        var c = cos.index_select(0, flat).view(b, 1, t, -1);                            // (B, 1, T, hs)
        var s = sin.index_select(0, flat).view(b, 1, t, -1);                            // (B, 1, T, hs)
        return (c, s);
    }

    /// <summary>x·cos + rotate_half(x)·sin, where rotate_half([x1, x2]) = [−x2, x1] along the last dim.</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        var half = x.shape[^1] / 2;
        var x1 = x.narrow(-1, 0, half);                                                 // (B, h, T, hs/2)
        var x2 = x.narrow(-1, half, half);                                              // (B, h, T, hs/2)
        var rotated = cat([x2.neg(), x1], -1);                                          // (B, h, T, hs)
        return x * cos + rotated * sin;                                                 // (B, h, T, hs)
    }

    private (Tensor Cos, Tensor Sin) Tables(Device device, ScalarType dtype)
    {
        var key = (device.type, device.index, dtype);
        if (_copies.TryGetValue(key, out var tables)) return tables;
        using var normal = inference_mode(false); // first use may be inside the generator's inference mode
        using var noGrad = no_grad();
        tables = (_cos.to(dtype, device).DetachFromDisposeScope(), _sin.to(dtype, device).DetachFromDisposeScope());
        _copies[key] = tables;
        return tables;
    }

    public void Dispose()
    {
        foreach (var (cos, sin) in _copies.Values)
        {
            cos.Dispose();
            sin.Dispose();
        }
        _copies.Clear();
        _cos.Dispose();
        _sin.Dispose();
    }
}
