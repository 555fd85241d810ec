using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Ponder.Policy;

/// <summary>
/// Root-mean-square layer norm as in Hugging Face <c>LlamaRMSNorm</c>: statistics in fp32, the result cast
/// back to the input dtype before the learned per-channel gain (so bf16 checkpoints match transformers).
/// </summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "weight")] private Parameter _weight;
    private readonly double _eps;
    private readonly Scalar _epsScalar;                         // held for the call that reads it (Scalars)

    public RmsNorm(long size, double eps, Device? device = null) : base(nameof(RmsNorm))
    {
        _eps = eps;
        _epsScalar = eps;
        _weight = new Parameter(ones(size, device: device)); // (C)
        RegisterComponents();
    }

    /// <summary>The learned gain, shape (C).</summary>
    public Parameter Weight => _weight;

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var inputType = x.dtype;
        var xf = inputType == ScalarType.Float32 ? x : x.to(ScalarType.Float32);      // (B, T, C)
        var inverseRms = xf.pow(Scalars.Two).mean([-1L], keepdim: true).add_(_epsScalar).rsqrt_();    // (B, T, 1)
        var normed = xf * inverseRms;                                                 // (B, T, C)
        if (inputType != ScalarType.Float32) normed = normed.to(inputType);
        return (normed * _weight).MoveToOuterDisposeScope();                          // (B, T, C)
    }

    /// <summary>
    /// The same norm; with <paramref name="decodeStep"/> (a decode step's rows, decided by the caller) a float32 input
    /// on the CPU is normed in one C# call (<see cref="SmallRowOps.RmsNorm"/>) instead of six libtorch calls. No gradients.
    /// With <paramref name="trainingKernels"/> a float32 CPU input is normed by one C# autograd node (<see cref="RmsNormFunction"/>).
    /// </summary>
    internal Tensor Forward(Tensor x, bool decodeStep, bool trainingKernels = false) =>
        decodeStep && SmallRowOps.Plain(x, _weight.shape[0]) && SmallRowOps.Plain(_weight, _weight.shape[0])
            ? SmallRowOps.RmsNorm(x, _weight, _eps)
            : trainingKernels && RmsNormFunction.Applies(x, _weight) ? RmsNormFunction.apply(x, _weight, _eps) : call(x);
}
