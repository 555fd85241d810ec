using Ponder.Policy;
using Ponder.Rewards;
using static TorchSharp.torch;

namespace Ponder.Learning;

/// <summary>
/// One training sequence of a reward model: its tokens, where its scores are read, their targets in [0, 1], and the
/// index of the solution's first token (after the prompt).
/// </summary>
public sealed record RewardExample(int[] Ids, int[] Positions, float[] Targets, int Start)
{
    /// <summary>
    /// A PRM example reads every step end (target: the step's label); an ORM example reads only the last
    /// (target: the verifier's verdict). Positions follow <see cref="StepText"/>. Null for a solution with no step.
    /// </summary>
    public static RewardExample? From(LabeledSolution s, ITokenizer tokenizer, RewardModelKind kind, LabelTarget target, int window)
    {
        if (s.Steps.Count == 0) return null;
        var (ids, ends, start) = StepText.Encode(tokenizer, s.Problem.Prompt, s.Steps);
        if (ids.Length > window) return null;
        return kind == RewardModelKind.Orm
            ? new RewardExample(ids, [ends[^1]], [s.Correct ? 1f : 0f], start)
            : new RewardExample(ids, ends, Enumerable.Range(0, ends.Length).Select(j => (float)s.Target(j, target)).ToArray(), start);
    }

    /// <summary>Right-padded inputs (B, T), solution starts (B) and, flattened over the batch, row (N), position (N) and target (N) of every read.</summary>
    public static (Tensor Ids, Tensor Starts, Tensor Rows, Tensor Positions, Tensor Targets) Batch(IReadOnlyList<RewardExample> examples, int pad, Device device)
    {
        int b = examples.Count, t = examples.Max(e => e.Ids.Length);
        var ids = new long[b * t];
        Array.Fill(ids, pad);
        var (rows, positions, targets) = (new List<long>(), new List<long>(), new List<float>());
        for (int i = 0; i < b; i++)
        {
            var e = examples[i];
            for (int j = 0; j < e.Ids.Length; j++) ids[i * t + j] = e.Ids[j];
            rows.AddRange(Enumerable.Repeat((long)i, e.Positions.Length));
            positions.AddRange(e.Positions.Select(p => (long)p));
            targets.AddRange(e.Targets);
        }
        return (tensor(ids, [b, t], device: device), tensor(examples.Select(e => (long)e.Start).ToArray(), device: device), tensor(rows.ToArray(), device: device),
            tensor(positions.ToArray(), device: device), tensor(targets.ToArray(), device: device));
    }
}
