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
        IReadOnlyList<(string Prompt, string Completion)> examples, Device device)
    {
        var rows = examples.Select(e =>
        {
            int[] prompt = Prompting.Encode(tokenizer, e.Prompt);
            int[] all = [.. prompt, .. tokenizer.Encode(e.Completion), tokenizer.Eos];
            return (all, promptLength: prompt.Length);
        }).ToList();
        int b = rows.Count, t = rows.Max(r => r.all.Length) - 1;
        var inputs = new long[b * t];
        var targets = new long[b * t];
        Array.Fill(inputs, tokenizer.Pad);
        Array.Fill(targets, Ignore);
        int lossTokens = 0;
        for (int i = 0; i < b; i++)
        {
            var (all, promptLength) = rows[i];
            for (int j = 0; j < all.Length - 1; j++)
            {
                inputs[i * t + j] = all[j];
                if (j + 1 >= promptLength) { targets[i * t + j] = all[j + 1]; lossTokens++; }
            }
        }
        return (tensor(inputs, [b, t], device: device), tensor(targets, [b, t], device: device), lossTokens);
    }
}
