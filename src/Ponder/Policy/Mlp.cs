using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Ponder.Policy;

/// <summary>
/// SwiGLU feed-forward: down(silu(gate(x)) · up(x)), no biases (Llama and Qwen2 alike). Without gradients gate and up
/// are one fused matmul.
/// </summary>
internal sealed class Mlp : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "gate_proj")] private readonly Linear _gate;
    [ComponentName(Name = "up_proj")] private readonly Linear _up;
    [ComponentName(Name = "down_proj")] private readonly Linear _down;
    private readonly FusedLinear _gateUp;

    public Mlp(TransformerConfig config, Device? device) : base(nameof(Mlp))
    {
        _gate = nn.Linear(config.HiddenSize, config.IntermediateSize, hasBias: false, device: device);
        _up = nn.Linear(config.HiddenSize, config.IntermediateSize, hasBias: false, device: device);
        _down = nn.Linear(config.IntermediateSize, config.HiddenSize, hasBias: false, device: device);
        RegisterComponents();
        _gateUp = new FusedLinear(_gate, _up);
    }

    /// <summary>The output projection (its init is scaled down, see <see cref="Transformer"/>).</summary>
    public Linear OutputProjection => _down;

    /// <summary>Gate and up's weights as one (2·I, C) tensor, gate's rows first (see <see cref="FusedLinear"/>); no gradients.</summary>
    public Tensor GateUpWeight() => _gateUp.Weights().Weight;

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var hidden = F.silu(_gate.call(x)) * _up.call(x);                            // (B, T, I)
        return _down.call(hidden).MoveToOuterDisposeScope();                         // (B, T, C)
    }

    /// <summary>
    /// The same function for training on the CPU in float32, the gating as one C# autograd node (<see cref="SiluGateFunction"/>).
    /// </summary>
    public Tensor ForwardTraining(Tensor x)
    {
        using var scope = NewDisposeScope();
        var hidden = SiluGateFunction.apply(_gate.call(x), _up.call(x));              // (B, T, I)
        return _down.call(hidden).MoveToOuterDisposeScope();                         // (B, T, C)
    }

    /// <summary>
    /// The same function with gate and up as one matmul (see <see cref="FusedLinear"/>); no gradients. With
    /// <paramref name="smallRows"/> (at most four rows) the linears run on <see cref="SmallRowLinear"/>; with
    /// <paramref name="decodeStep"/> (any decode step, small rows included) the gating runs on <see cref="SmallRowOps.SiluGate"/>.
    /// </summary>
    public Tensor ForwardFused(Tensor x, bool smallRows = false, bool decodeStep = false)
    {
        using var scope = NewDisposeScope();
        var gateUp = SmallRowLinear.Linear(x, _gateUp.Weights().Weight, null, smallRows); // (B, T, 2·I)
        Tensor hidden;                                                               // (B, T, I)
        if (decodeStep && SmallRowOps.Plain(gateUp, gateUp.shape[^1])) hidden = SmallRowOps.SiluGate(gateUp);
        else
        {
            var parts = gateUp.chunk(2, -1);                                         // 2 × (B, T, I)
            hidden = F.silu(parts[0]).mul_(parts[1]);
        }
        return SmallRowLinear.Linear(hidden, _down.weight!, null, smallRows).MoveToOuterDisposeScope(); // (B, T, C)
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _gateUp.Dispose();
        base.Dispose(disposing);
    }
}
