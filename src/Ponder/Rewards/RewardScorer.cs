using Ponder.Policy;
using Ponder.Tasks;
using static TorchSharp.torch;

namespace Ponder.Rewards;

/// <summary>
/// A <see cref="RewardModel"/> as a reward: P(correct) after every step (<see cref="IProcessReward"/>) and one score
/// per complete solution (<see cref="IOutcomeReward"/>: an ORM's reading after the last line, a PRM's step scores
/// aggregated by <see cref="Aggregation"/>). Solutions are scored in batches; the tokens read and the forward FLOPs
/// are counted for compute meters. Example: a PRM scoring steps <c>["3+4=7", "7*2=15", "#15"]</c> might return
/// <c>[0.97, 0.08, 0.05]</c>; with <c>Aggregation.Min</c> the solution scores 0.05.
/// </summary>
/// <remarks>
/// Positions follow <see cref="StepText"/>. A solution longer than the model's context is read up to the window's
/// last token: steps that end beyond it get the score at that token. A solution with no step scores 0.
/// </remarks>
public sealed class RewardScorer : IOutcomeReward, IProcessReward, Search.IMeteredReward
{
    readonly RewardModel model;
    readonly ITokenizer tokenizer;
    readonly int batchSize;

    public RewardScorer(RewardModel model, ITokenizer tokenizer, RewardModelKind kind, Aggregation aggregation = Aggregation.Min, int batchSize = 64)
    {
        this.model = model ?? throw new ArgumentNullException(nameof(model));
        this.tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        (Kind, Aggregation, this.batchSize) = (kind, aggregation, batchSize);
    }

    public RewardModelKind Kind { get; }

    /// <summary>How <see cref="Score"/> turns a PRM's step scores into one (an ORM always reads its last).</summary>
    public Aggregation Aggregation { get; }

    /// <summary>Tokens run through the reward model so far (padding not counted).</summary>
    public long Tokens { get; private set; }

    /// <summary>Forward FLOPs spent so far (≈ 2 × matmul parameters × tokens + attention).</summary>
    public double Flops { get; private set; }

    public void ResetCounters() => (Tokens, Flops) = (0, 0);

    /// <summary>Forward FLOPs per token at half the model's context, what search's compute meter charges per token read.</summary>
    public double FlopsPerToken => model.FlopsPerToken(model.Config.MaxPositions / 2);

    public IReadOnlyList<double> Score(IReadOnlyList<Problem> problems, IReadOnlyList<string> completions)
    {
        ArgumentNullException.ThrowIfNull(completions);
        var steps = completions.Select(c => StepText.Steps(c, int.MaxValue)).ToList();   // to the answer however long (the window bounds what is read)
        var scores = ScoreSteps(problems, steps);
        return scores.Select(s => Kind == RewardModelKind.Orm ? (s.Count == 0 ? 0 : s[^1]) : StepScores.Aggregate(s, Aggregation)).ToArray();
    }

    public IReadOnlyList<IReadOnlyList<double>> ScoreSteps(IReadOnlyList<Problem> problems, IReadOnlyList<IReadOnlyList<string>> steps)
    {
        ArgumentNullException.ThrowIfNull(problems);
        ArgumentNullException.ThrowIfNull(steps);
        if (problems.Count != steps.Count) throw new ArgumentException($"{problems.Count} problems but {steps.Count} solutions");
        var result = new IReadOnlyList<double>[steps.Count];
        var encoded = Enumerable.Range(0, steps.Count).Select(i => StepText.Encode(tokenizer, problems[i].Prompt, steps[i])).ToList();
        foreach (var chunk in Enumerable.Range(0, steps.Count).Where(i => steps[i].Count > 0).Chunk(batchSize))
        {
            var probabilities = Probabilities(chunk.Select(i => encoded[i]).ToList());
            for (int n = 0; n < chunk.Length; n++) result[chunk[n]] = probabilities[n];
        }
        for (int i = 0; i < result.Length; i++) result[i] ??= [];
        return result;
    }

    /// <summary>Sigmoid of the score logits at each sequence's step ends, one batch, one forward pass.</summary>
    double[][] Probabilities(IReadOnlyList<(int[] Ids, int[] StepEnds, int Start)> rows)
    {
        int window = model.Config.MaxPositions;
        int b = rows.Count, t = rows.Max(r => Math.Min(r.Ids.Length, window));
        var ids = new long[b * t];
        Array.Fill(ids, tokenizer.Pad);
        var (rowIndex, positions) = (new List<long>(), new List<long>());
        for (int i = 0; i < b; i++)
        {
            var (seq, ends, _) = rows[i];
            int length = Math.Min(seq.Length, window);
            for (int j = 0; j < length; j++) ids[i * t + j] = seq[j];
            foreach (int end in ends) { rowIndex.Add(i); positions.Add(Math.Min(end, length - 1)); }
            Tokens += length;
            Flops += length * model.FlopsPerToken((length + 1) / 2);
        }

        using var inference = inference_mode();
        using var scope = NewDisposeScope();
        var device = model.Device;
        var input = tensor(ids, [b, t], device: device);                                   // (B, T)
        var starts = tensor(rows.Select(r => (long)r.Start).ToArray(), device: device);    // (B)
        var logits = model.ScoresAt(input, starts, tensor(rowIndex.ToArray(), device: device), tensor(positions.ToArray(), device: device)); // (N)
        var flat = logits.sigmoid().to(ScalarType.Float64).cpu().data<double>().ToArray();  // (N)
        var result = new double[b][];
        int offset = 0;
        for (int i = 0; i < b; i++)
        {
            result[i] = flat[offset..(offset + rows[i].StepEnds.Length)];
            offset += rows[i].StepEnds.Length;
        }
        return result;
    }
}
