using Ponder.Policy;
using Ponder.Tasks;
using static TorchSharp.torch;

namespace Ponder.Learning;

/// <summary>
/// Sampled completions laid out for a loss: <c>Ids</c> (N, L) = BOS + prompt + completion (EOS
/// included when the policy stopped), right-padded; action position j (0 ≤ j &lt; L−1) predicts
/// token j+1, and <c>Mask</c> (N, L−1) is 1 exactly on the positions that predict completion tokens.
/// </summary>
public sealed class RolloutBatch : IDisposable
{
    public required Tensor Ids { get; init; }
    public required Tensor Mask { get; init; }
    public required IReadOnlyList<Problem> Problems { get; init; }
    public required IReadOnlyList<string> Completions { get; init; }
    public required int[] CompletionLengths { get; init; }
    /// <summary>Each row's tokens (BOS + prompt + completion) before the padding.</summary>
    public required int[] Lengths { get; init; }

    /// <param name="context">
    /// For each row, how many of its completion's first tokens are context rather than actions (a partial solution a
    /// step-level pair continues): the mask leaves them out as it leaves out the prompt. Null: none.
    /// </param>
    public static RolloutBatch Build(ITokenizer tokenizer, IReadOnlyList<Problem> problems, IReadOnlyList<int[]> completions,
        IReadOnlyList<string> texts, Device device, IReadOnlyList<int>? context = null, double temperature = 1.0)
    {
        int n = problems.Count;
        var prompts = problems.Select(p => Prompting.Encode(tokenizer, p.Prompt)).ToArray();
        int l = Enumerable.Range(0, n).Max(i => prompts[i].Length + completions[i].Length);
        var ids = new long[n * l];
        var mask = new float[n * (l - 1)];
        Array.Fill(ids, tokenizer.Pad);
        for (int i = 0; i < n; i++)
        {
            int[] row = [.. prompts[i], .. completions[i]];
            for (int j = 0; j < row.Length; j++) ids[i * l + j] = row[j];
            for (int j = prompts[i].Length - 1 + (context?[i] ?? 0); j < row.Length - 1; j++) mask[i * (l - 1) + j] = 1;
        }
        return new RolloutBatch
        {
            Ids = tensor(ids, [n, l], device: device), Mask = tensor(mask, [n, l - 1], device: device),
            Problems = problems, Completions = texts, CompletionLengths = completions.Select(c => c.Length).ToArray(), Temperature = temperature,
            Vocabulary = tokenizer.VocabSize,
            Lengths = [.. Enumerable.Range(0, n).Select(i => prompts[i].Length + completions[i].Length)],
        };
    }

    /// <summary>
    /// The ids the completions were sampled from: the tokenizer's. A model whose embedding is padded beyond them (Qwen2.5's
    /// 271 extra rows) never samples the padding, so <see cref="Score"/> leaves it out of the distribution it reads.
    /// </summary>
    public int Vocabulary { get; init; } = int.MaxValue;

    /// <summary>Temperature the completions were sampled at: <see cref="Score"/> reads log-probabilities of the logits divided by it (1: as they are).</summary>
    public double Temperature { get; init; } = 1.0;

    /// <summary>
    /// Log-probabilities (N, L−1) of the batch's next tokens under <paramref name="model"/>, the
    /// per-position entropy (N, L−1) when asked, and the hidden states (N, L−1, C) for a value head.
    /// A pass with gradients runs the rows packed (<see cref="PackedRows"/>) and lays the hidden states back out by row
    /// (zero on padding): the same values within rounding, in fewer positions. On the C# attention node
    /// (<see cref="Transformer.PacksCheaply"/>) all rows go into one, without padding; on libtorch's attention (CUDA)
    /// into rows as wide as the longest, first fit, where that saves rows (completions of very different lengths).
    /// The log-probabilities are of the logits over <see cref="Temperature"/>.
    /// </summary>
    public (Tensor LogProbs, Tensor? Entropy, Tensor Hidden) Score(Transformer model, bool entropy)
    {
        var inputs = Ids[.., ..^1];                                                   // (N, L−1)
        var targets = Ids[.., 1..];                                                   // (N, L−1)
        var hidden = (is_grad_enabled() ? PackedHidden(model, inputs) : null) ?? model.Hidden(inputs); // (N, L−1, C)
        var logits = model.Logits(hidden);                                           // (N, L−1, V)
        if (Vocabulary < logits.size(-1)) logits = logits.narrow(-1, 0, Vocabulary);   // (N, L−1, V′) the sampleable ids
        if (Temperature != 1) logits = logits / Temperature;                         // the distribution the rollouts were sampled from
        var logp = logits.log_softmax(-1);                                           // (N, L−1, V)
        var chosen = logp.gather(-1, targets.unsqueeze(-1)).squeeze(-1);             // (N, L−1)
        Tensor? h = entropy ? -(logp.exp() * logp).sum(-1) : null;                    // (N, L−1)
        return (chosen, h, hidden);
    }

    // The hidden states (N, L−1, C) of a packed pass, or null where packing would not save rows.
    private Tensor? PackedHidden(Transformer model, Tensor inputs)
    {
        var (n, t) = ((int)inputs.size(0), (int)inputs.size(1));
        var oneRow = model.PacksCheaply;
        int[] lengths = [.. Lengths.Select(l => l - 1)];
        var (rows, places) = oneRow ? PackedRows.OneRow(lengths) : PackedRows.FirstFit(lengths, t);
        if (!oneRow && rows.Rows >= n) return null;
        // Flat positions of the real inputs in the padded batch and in the packed one, in the same order.
        var (from, to) = (new long[lengths.Sum()], new long[lengths.Sum()]);
        for (int i = 0, at = 0; i < n; i++)
            for (int j = 0; j < lengths[i]; j++, at++)
                (from[at], to[at]) = ((long)i * t + j, (long)places[i].Row * rows.Width + places[i].Offset + j);
        using var source = tensor(from, device: inputs.device);                      // (ΣT)
        using var target = tensor(to, device: inputs.device);                        // (ΣT)
        var packed = full([rows.Rows * rows.Width], (long)(model.Config.PadTokenId ?? 0), ScalarType.Int64, inputs.device)
            .index_copy_(0, target, inputs.reshape(-1).index_select(0, source)).view(rows.Rows, rows.Width); // (R, W)
        var hidden = model.Hidden(packed, rows);                                      // (R, W, C)
        var real = hidden.view(-1, hidden.size(2)).index_select(0, target);           // (ΣT, C)
        return zeros([n * t, hidden.size(2)], hidden.dtype, hidden.device).index_copy(0, source, real).view(n, t, -1); // (N, L−1, C)
    }

    public void Dispose()
    {
        Ids.Dispose();
        Mask.Dispose();
    }
}
