using Ponder.Policy;
using static TorchSharp.torch;

namespace Ponder.Learning;

/// <summary>One teacher-forcing optimizer step on (prompt, completion) pairs: forward, loss on completion tokens, backward, clip, update.</summary>
public static class SupervisedStep
{
    /// <summary>
    /// Returns the mean loss over completion tokens and the number of non-padding input tokens. With
    /// <paramref name="pack"/>, where the model's gradient pass runs on the C# attention node
    /// (<see cref="Transformer.TrainingKernels"/> on the CPU in float32), the examples go into one row without padding
    /// (<see cref="SftBatch.Pack"/>): the same loss, about a tenth fewer positions on the default task. Elsewhere they are
    /// padded to rows as without it (libtorch's attention over one long row would cost more than the padding it saves).
    /// </summary>
    public static (double Loss, double GradNorm, long Tokens) Run(Transformer model, AdamW optimizer, ITokenizer tokenizer,
        IReadOnlyList<(string Prompt, string Completion)> examples, double lr, double gradClip, bool pack = false)
    {
        using var scope = NewDisposeScope();
        model.train();
        Tensor inputs, targets, logits;
        if (pack && model.PacksCheaply)
        {
            (inputs, targets, _, var rows) = SftBatch.Pack(tokenizer, examples, model.Device);
            logits = model.Packed(inputs, rows);                                          // (1, ΣT, V)
        }
        else
        {
            (inputs, targets, _) = SftBatch.Build(tokenizer, examples, model.Device);
            logits = model.call(inputs);                                                  // (B, T, V)
        }
        var loss = nn.functional.cross_entropy(logits.view(-1, model.Config.VocabSize), targets.view(-1), ignore_index: SftBatch.Ignore);
        loss.backward();
        double gradNorm = nn.utils.clip_grad_norm_(model.parameters(), gradClip);
        optimizer.Update(lr);
        optimizer.ZeroGrad();
        using TorchSharp.Scalar pad = tokenizer.Pad;                                      // held for the call (Policy's Scalars)
        return (loss.item<float>(), gradNorm, inputs.ne(pad).sum().item<long>());
    }

    /// <summary>A fresh AdamW over every trainable parameter of <paramref name="model"/>.</summary>
    public static AdamW Optimizer(Transformer model, double weightDecay = 0.1) =>
        new(model.named_parameters().Select(p => (p.name, (Tensor)p.parameter)), weightDecay: weightDecay);
}
