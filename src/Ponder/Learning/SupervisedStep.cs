using Ponder.Policy;
using static TorchSharp.torch;

namespace Ponder.Learning;

/// <summary>One teacher-forcing optimizer step on (prompt, completion) pairs: forward, loss on completion tokens, backward, clip, update.</summary>
public static class SupervisedStep
{
    /// <summary>Returns the mean loss over completion tokens and the number of non-padding input tokens.</summary>
    public static (double Loss, double GradNorm, long Tokens) Run(Transformer model, AdamW optimizer, ITokenizer tokenizer,
        IReadOnlyList<(string Prompt, string Completion)> examples, double lr, double gradClip)
    {
        using var scope = NewDisposeScope();
        model.train();
        var (inputs, targets, _) = SftBatch.Build(tokenizer, examples, model.Device);
        var logits = model.call(inputs);                                                  // (B, T, V)
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
