using TorchSharp;
using static TorchSharp.torch;

namespace Ponder.Policy;

/// <summary>A policy checkpoint folder loaded for use: model on its device, tokenizer and training state.</summary>
public sealed record LoadedPolicy(Transformer Model, ITokenizer Tokenizer, CheckpointState State, string Dir)
{
    /// <summary>Loads <paramref name="dir"/> onto <paramref name="device"/>, in eval mode.</summary>
    public static LoadedPolicy Load(string dir, Device device)
    {
        var config = Checkpoint.ReadConfig(dir);
        var tokenizer = Checkpoint.ReadTokenizer(dir);
        var state = Checkpoint.ReadState(dir);
        if (tokenizer.VocabSize > config.VocabSize)
            throw new InvalidDataException($"checkpoint '{dir}': tokenizer.json has {tokenizer.VocabSize} tokens but config.json vocab_size is {config.VocabSize}");
        var model = new Transformer(config);
        Checkpoint.LoadWeights(dir, model);
        model.to(device);
        model.eval();
        return new LoadedPolicy(model, tokenizer, state, dir);
    }
}
