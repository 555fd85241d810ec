using Ponder.Policy;
using static TorchSharp.torch;

namespace Ponder.Learning;

/// <summary>One teacher-forcing optimizer step on (prompt, completion) pairs: forward, loss on completion tokens, backward, clip, update.</summary>
public static class SupervisedStep
{
    /// <summary>
    /// Returns the mean loss over completion tokens and the number of non-padding input tokens. With
    /// <paramref name="pack"/> the examples are packed (<see cref="SftBatch.Pack"/>; the same loss in fewer positions):
    /// where the model's gradient pass runs on the C# attention node (<see cref="Transformer.PacksCheaply"/>), all into one
    /// row without padding (about a tenth fewer positions on the default task); elsewhere (libtorch's attention, CUDA)
    /// into rows as wide as the longest example, first fit, when that takes fewer rows than padding does (search traces
    /// of very different lengths: about a quarter of the padded positions), else padded as without it.
    /// </summary>
    public static (double Loss, double GradNorm, long Tokens) Run(Transformer model, AdamW optimizer, ITokenizer tokenizer,
        IReadOnlyList<(string Prompt, string Completion)> examples, double lr, double gradClip, bool pack = false, Func<string, bool>? update = null)
    {
        using var scope = NewDisposeScope();
        model.train();
        Tensor inputs, targets;
        PackedRows? rows = null;
        if (!pack) (inputs, targets, _) = SftBatch.Build(tokenizer, examples, model.Device);
        else if (model.PacksCheaply) (inputs, targets, _, rows) = SftBatch.Pack(tokenizer, examples, model.Device);
        else (inputs, targets, _, rows) = SftBatch.PackIfFewerRows(tokenizer, examples, model.Device, width: 1);
        var logits = rows is null ? model.call(inputs) : model.Packed(inputs, rows);     // (B or rows, T, V)
        var loss = nn.functional.cross_entropy(logits.view(-1, model.Config.VocabSize), targets.view(-1), ignore_index: SftBatch.Ignore);
        loss.backward();
        double gradNorm = nn.utils.clip_grad_norm_(model.parameters(), gradClip);
        optimizer.Update(lr, update);
        optimizer.ZeroGrad();
        using TorchSharp.Scalar pad = tokenizer.Pad;                                      // held for the call (Policy's Scalars)
        return (loss.item<float>(), gradNorm, inputs.ne(pad).sum().item<long>());
    }

    /// <summary>A fresh AdamW over every trainable parameter of <paramref name="model"/>.</summary>
    public static AdamW Optimizer(Transformer model, double weightDecay = 0.1) =>
        new(model.named_parameters().Select(p => (p.name, (Tensor)p.parameter)), weightDecay: weightDecay);
}
