using Ponder.Policy;
using static TorchSharp.torch;

namespace Ponder.Learning;

/// <summary>
/// Teacher-forcing batch: inputs are BOS + prompt + completion + EOS without the last token, targets
/// the same shifted by one; targets inside the prompt and in padding are -100 so that only the
/// solution tokens (and EOS) carry loss.
/// </summary>
public static class SftBatch
{
    public const long Ignore = -100;

    /// <summary>(inputs (B, T), targets (B, T), number of loss tokens).</summary>
    public static (Tensor Inputs, Tensor Targets, int LossTokens) Build(ITokenizer tokenizer,
        IReadOnlyList<(string Prompt, string Completion)> examples, Device device) => Padded(tokenizer, Encode(tokenizer, examples), device);

    private static (Tensor Inputs, Tensor Targets, int LossTokens) Padded(ITokenizer tokenizer, List<(int[] All, int PromptLength)> sequences, Device device)
    {
        int b = sequences.Count, t = sequences.Max(r => r.All.Length) - 1;
        var (inputs, targets) = Blank(tokenizer, b * t);
        int lossTokens = 0;
        for (int i = 0; i < b; i++) lossTokens += Place(sequences[i], inputs, targets, i * t);
        return (tensor(inputs, [b, t], device: device), tensor(targets, [b, t], device: device), lossTokens);
    }

    /// <summary>
    /// The same examples packed (<see cref="PackedRows"/>), each attending only within itself at positions from 0
    /// (<see cref="Transformer.Packed"/>): with <paramref name="width"/> 0, all in one row, without padding (for the C#
    /// attention node, which costs each sequence only its own length squared); else several to a row of
    /// <paramref name="width"/> tokens, or of the longest example's where that is more (so 1 gives rows as wide as the
    /// longest example), first fit in order of decreasing length. The loss,
    /// a mean over the same solution tokens, is the same function of the weights as <see cref="Build"/>'s; only rounding
    /// differs.
    /// </summary>
    public static (Tensor Inputs, Tensor Targets, int LossTokens, PackedRows Rows) Pack(ITokenizer tokenizer,
        IReadOnlyList<(string Prompt, string Completion)> examples, Device device, int width = 0)
    {
        var sequences = Encode(tokenizer, examples);
        return Packed(tokenizer, sequences, PackedRows.FirstFit([.. sequences.Select(r => r.All.Length - 1)], width), device);
    }

    /// <summary>
    /// <see cref="Pack"/>'s batch where its layout takes fewer rows than there are examples, else <see cref="Build"/>'s
    /// (Rows null): examples of similar lengths, none of which fit beside another, are left padded.
    /// </summary>
    public static (Tensor Inputs, Tensor Targets, int LossTokens, PackedRows? Rows) PackIfFewerRows(ITokenizer tokenizer,
        IReadOnlyList<(string Prompt, string Completion)> examples, Device device, int width)
    {
        var sequences = Encode(tokenizer, examples);
        var layout = PackedRows.FirstFit([.. sequences.Select(r => r.All.Length - 1)], width);
        if (layout.Rows.Rows < sequences.Count) return Packed(tokenizer, sequences, layout, device);
        var (inputs, targets, lossTokens) = Padded(tokenizer, sequences, device);
        return (inputs, targets, lossTokens, null);
    }

    private static (Tensor Inputs, Tensor Targets, int LossTokens, PackedRows Rows) Packed(ITokenizer tokenizer,
        List<(int[] All, int PromptLength)> sequences, (PackedRows Rows, (int Row, int Offset)[] Places) layout, Device device)
    {
        var (rows, places) = layout;
        var (inputs, targets) = Blank(tokenizer, rows.Rows * rows.Width);
        int lossTokens = 0;
        for (int i = 0; i < sequences.Count; i++) lossTokens += Place(sequences[i], inputs, targets, places[i].Row * rows.Width + places[i].Offset);
        return (tensor(inputs, [rows.Rows, rows.Width], device: device), tensor(targets, [rows.Rows, rows.Width], device: device), lossTokens, rows);
    }

    // BOS + prompt + completion + EOS, and the prompt's length.
    private static List<(int[] All, int PromptLength)> Encode(ITokenizer tokenizer, IReadOnlyList<(string Prompt, string Completion)> examples) =>
        [.. examples.Select(e =>
        {
            int[] prompt = Prompting.Encode(tokenizer, e.Prompt);
            return ((int[])[.. prompt, .. tokenizer.Encode(e.Completion), tokenizer.Eos], prompt.Length);
        })];

    private static (long[] Inputs, long[] Targets) Blank(ITokenizer tokenizer, int size)
    {
        var (inputs, targets) = (new long[size], new long[size]);
        Array.Fill(inputs, tokenizer.Pad);
        Array.Fill(targets, Ignore);
        return (inputs, targets);
    }

    // Writes one sequence's inputs and targets from offset `at`; returns its loss tokens.
    private static int Place((int[] All, int PromptLength) sequence, long[] inputs, long[] targets, int at)
    {
        var (all, promptLength) = sequence;
        int lossTokens = 0;
        for (int j = 0; j < all.Length - 1; j++)
        {
            inputs[at + j] = all[j];
            if (j + 1 >= promptLength) { targets[at + j] = all[j + 1]; lossTokens++; }
        }
        return lossTokens;
    }
}
