using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Ponder.Policy;

/// <summary>SwiGLU feed-forward: down(silu(gate(x)) · up(x)), no biases (Llama and Qwen2 alike).</summary>
internal sealed class Mlp : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "gate_proj")] private readonly Linear _gate;
    [ComponentName(Name = "up_proj")] private readonly Linear _up;
    [ComponentName(Name = "down_proj")] private readonly Linear _down;

    public Mlp(TransformerConfig config, Device? device) : base(nameof(Mlp))
    {
        _gate = nn.Linear(config.HiddenSize, config.IntermediateSize, hasBias: false, device: device);
        _up = nn.Linear(config.HiddenSize, config.IntermediateSize, hasBias: false, device: device);
        _down = nn.Linear(config.IntermediateSize, config.HiddenSize, hasBias: false, device: device);
        RegisterComponents();
    }

    /// <summary>The output projection (its init is scaled down, see <see cref="Transformer"/>).</summary>
    public Linear OutputProjection => _down;

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var hidden = F.silu(_gate.call(x)) * _up.call(x);                            // (B, T, I)
        return _down.call(hidden).MoveToOuterDisposeScope();                         // (B, T, C)
    }
}
