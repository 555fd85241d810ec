using TorchSharp;
using static TorchSharp.torch;

namespace Ponder.Policy;

/// <summary>A policy checkpoint folder loaded for use: model on its device, tokenizer and training state.</summary>
public sealed record LoadedPolicy(Transformer Model, ITokenizer Tokenizer, CheckpointState State, string Dir)
{
    /// <summary>
    /// Loads <paramref name="dir"/> onto <paramref name="device"/>, in eval mode: a Ponder checkpoint or a Hugging Face
    /// Llama/Qwen2 folder (sharded or not, any float dtype; see <see cref="Interop.HfCheckpoint"/>).
    /// </summary>
    public static LoadedPolicy Load(string dir, Device device) => Interop.HfCheckpoint.Load(dir, device);

    /// <summary>
    /// <see cref="Load(string, Device)"/> with a context of <paramref name="maxPositions"/> positions, at least the
    /// checkpoint's own (<see cref="Interop.HfCheckpoint.Load"/>): how a reviser gets room for the attempts it reads.
    /// </summary>
    public static LoadedPolicy Load(string dir, Device device, int maxPositions) => Interop.HfCheckpoint.Load(dir, device, maxPositions: maxPositions);

    /// <summary>Loads a reviser (<c>ponder train revise</c>): a policy checkpoint whose ponder.json kind is "reviser".</summary>
    public static LoadedPolicy LoadReviser(string dir, Device device)
    {
        var reviser = Load(dir, device);
        return reviser.State.Kind == "reviser" ? reviser
            : throw new InvalidDataException($"checkpoint '{dir}': ponder.json kind is '{reviser.State.Kind}', not a reviser (make one with ponder train revise)");
    }
}
