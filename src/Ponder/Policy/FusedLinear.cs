using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ponder.Policy;

/// <summary>
/// Several linears that read the same input (q/k/v, gate/up) as one matmul for inference, without a second copy of
/// their weights: the parts' parameters are re-pointed (<c>set_</c>) at consecutive row ranges of one (ΣOut, In)
/// tensor, so that optimizer steps and checkpoint loads, which write parameters in place, update the fused weight too.
/// </summary>
/// <remarks>
/// Parameters keep their names, shapes and identities; training still runs each part as its own module (autograd
/// needs them as leaves), and only code without gradients calls <see cref="Weights"/>. When a part's parameter is
/// replaced by a new object (<c>model.to(device)</c>, a dtype change), the next call binds again.
/// </remarks>
internal sealed class FusedLinear : IDisposable
{
    private readonly Linear[] _parts;
    private readonly object _lock = new();
    private Parameter?[] _boundWeights;   // the parameter objects the fused tensors were built from
    private Parameter?[] _boundBiases;
    private Tensor? _weight;               // (ΣOut, In)
    private Tensor? _bias;                 // (ΣOut) or null

    public FusedLinear(params Linear[] parts)
    {
        _parts = parts;
        _boundWeights = new Parameter?[parts.Length];
        _boundBiases = new Parameter?[parts.Length];
    }

    /// <summary>The fused weight (ΣOut, In) and bias (ΣOut, or null when the parts have none), sharing the parts' storage.</summary>
    public (Tensor Weight, Tensor? Bias) Weights()
    {
        if (!IsBound())
        {
            lock (_lock)
            {
                if (!IsBound()) Bind();
            }
        }
        return (_weight!, _bias);
    }

    private bool IsBound()
    {
        if (_weight is null) return false;
        for (var i = 0; i < _parts.Length; i++)
            if (!ReferenceEquals(_parts[i].weight, _boundWeights[i]) || !ReferenceEquals(_parts[i].bias, _boundBiases[i])) return false;
        return true;
    }

    private void Bind()
    {
        using var normal = inference_mode(false); // the parameters must stay ordinary tensors that autograd can use
        using var noGrad = no_grad();
        var weights = _parts.Select(p => p.weight!).ToArray();
        var biases = _parts.Select(p => p.bias).ToArray();
        var weight = cat(weights.Select(w => (Tensor)w).ToArray(), 0).DetachFromDisposeScope();                 // (ΣOut, In)
        var bias = biases.All(b => b is not null) ? cat(biases.Select(b => (Tensor)b!).ToArray(), 0).DetachFromDisposeScope() : null; // (ΣOut)
        long offset = 0;
        for (var i = 0; i < weights.Length; i++)
        {
            var rows = weights[i].shape[0];
            using (var part = weight.narrow(0, offset, rows)) weights[i].set_(part);
            if (bias is not null)
                using (var part = bias.narrow(0, offset, rows)) biases[i]!.set_(part);
            offset += rows;
        }
        _weight?.Dispose();
        _bias?.Dispose();
        (_weight, _bias) = (weight, bias);
        _boundWeights = weights;
        _boundBiases = biases;
    }

    public void Dispose()
    {
        _weight?.Dispose();
        _bias?.Dispose();
        _weight = _bias = null;
    }
}
