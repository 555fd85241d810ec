using System.Text.Json.Nodes;
using Ponder.Policy;
using Ponder.Tasks;
using static TorchSharp.torch;

namespace Ponder.Scaling;

/// <summary>
/// Where a policy's greedy completion first leaves the gold solution: the token position, the solution step it falls
/// in, and the policy's probabilities there of the token it chose and of the gold token. A greedy error the policy
/// is sure of (the gold token far behind) is one that sampling seldom avoids; at a near tie sampling often picks the
/// gold token, so votes and outcome rewards see right answers to learn from.
/// </summary>
public sealed record DivergencePoint(string ProblemId, int Position, int Step, double GreedyProbability, double GoldProbability, int GoldRank,
    int ChosenToken = -1, int GoldToken = -1);

/// <summary>
/// One policy's probabilities at another's divergence points (same problems, same gold prefixes): whether training
/// moved the probability at those tokens from the reference's wrong choice to the gold token.
/// </summary>
public sealed record RescoredDivergence(DivergenceResult Reference, IReadOnlyList<DivergencePoint> Points)
{
    /// <summary>The rescored points as a result of their own (its medians and fractions are this policy's).</summary>
    private DivergenceResult Rescored => new(Reference.Problems, Reference.GreedyWrong, Points);

    /// <summary>Fraction of the points where this policy gives the gold token more probability than the reference's choice.</summary>
    public double GoldPreferred => Rescored.Fraction(GoldMoreLikely);

    /// <summary>Fraction of the points where the gold token is this policy's first choice.</summary>
    public double GoldFirst => Rescored.Fraction(GoldOnTop);

    private static bool GoldMoreLikely(DivergencePoint p) => p.GoldProbability > p.GreedyProbability;

    private static bool GoldOnTop(DivergencePoint p) => p.GoldRank == 0;

    public JsonObject ToJson() => new()
    {
        ["points"] = Points.Count,
        ["reference_median_p_chosen"] = JsonText.Round(Reference.MedianGreedyProbability),
        ["reference_median_p_gold"] = JsonText.Round(Reference.MedianGoldProbability),
        ["median_p_chosen"] = JsonText.Round(Rescored.MedianGreedyProbability),
        ["median_p_gold"] = JsonText.Round(Rescored.MedianGoldProbability),
        ["gold_preferred"] = JsonText.Round(GoldPreferred), ["gold_first"] = JsonText.Round(GoldFirst),
    };

    public string ToMarkdown()
    {
        if (Points.Count == 0) return "The reference has no divergence points to rescore.";
        return string.Join("\n",
            $"At the reference's first wrong tokens ({Points.Count} points; the same gold prefixes):",
            "| | reference | this policy |", "|---|---|---|",
            $"| median probability of the reference's chosen token | {Reference.MedianGreedyProbability:F3} | {Rescored.MedianGreedyProbability:F3} |",
            $"| median probability of the gold token | {Reference.MedianGoldProbability:F3} | {Rescored.MedianGoldProbability:F3} |",
            $"| gold token more likely than the reference's choice | {Reference.Fraction(GoldMoreLikely):P1} | {GoldPreferred:P1} |",
            $"| gold token the first choice | {Reference.Fraction(GoldOnTop):P1} | {GoldFirst:P1} |");
    }
}

/// <summary>The divergence points of a policy's wrong greedy completions, and their summary figures.</summary>
public sealed record DivergenceResult(int Problems, int GreedyWrong, IReadOnlyList<DivergencePoint> Points)
{
    public double MedianGreedyProbability => Median(Points.Select(p => p.GreedyProbability));

    public double MedianGoldProbability => Median(Points.Select(p => p.GoldProbability));

    /// <summary>Fraction of the points where the gold token is the policy's second choice.</summary>
    public double GoldSecond => Fraction(p => p.GoldRank == 1);

    /// <summary>Fraction of the points where sampling at temperature 1 picks the gold token at least one time in ten.</summary>
    public double GoldAtLeastTenth => Fraction(p => p.GoldProbability >= 0.1);

    public JsonObject ToJson() => new()
    {
        ["problems"] = Problems, ["greedy_wrong"] = GreedyWrong, ["measured"] = Points.Count,
        ["median_p_greedy"] = JsonText.Round(MedianGreedyProbability), ["median_p_gold"] = JsonText.Round(MedianGoldProbability),
        ["gold_second"] = JsonText.Round(GoldSecond), ["gold_p_at_least_0.1"] = JsonText.Round(GoldAtLeastTenth),
        ["steps"] = new JsonObject(Points.GroupBy(p => p.Step).OrderBy(g => g.Key)
            .Select(g => KeyValuePair.Create((g.Key + 1).ToString(), (JsonNode?)g.Count()))),
        ["points"] = new JsonArray(Points.Select(p => (JsonNode)new JsonObject
        {
            ["problem"] = p.ProblemId, ["position"] = p.Position, ["step"] = p.Step + 1,
            ["p_chosen"] = JsonText.Round(p.GreedyProbability), ["p_gold"] = JsonText.Round(p.GoldProbability), ["gold_rank"] = p.GoldRank,
        }).ToArray()),
    };

    public string ToMarkdown()
    {
        if (Points.Count == 0)
            return GreedyWrong == 0 ? $"Every greedy completion is right ({Problems} problems): no divergence to measure."
                : $"None of the {GreedyWrong} wrong completions (of {Problems}) could be placed against a gold solution: the task writes none, or each completion stopped before leaving it.";
        var steps = string.Join(", ", Points.GroupBy(p => p.Step).OrderBy(g => g.Key).Select(g => $"step {g.Key + 1}: {g.Count()}"));
        return string.Join("\n",
            $"Where greedy leaves the gold solution ({Points.Count} of {GreedyWrong} wrong completions; {steps}):",
            "| at the first wrong token | value |", "|---|---|",
            $"| median probability of the token greedy chose | {MedianGreedyProbability:F3} |",
            $"| median probability of the gold token | {MedianGoldProbability:F3} |",
            $"| gold token is the second choice | {GoldSecond:P1} |",
            $"| gold token has probability ≥ 0.1 | {GoldAtLeastTenth:P1} |");
    }

    internal double Fraction(Func<DivergencePoint, bool> predicate) => Points.Count == 0 ? 0 : Points.Count(predicate) / (double)Points.Count;

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0) return double.NaN;
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}

public static class GreedyDivergence
{
    /// <summary>
    /// Decodes <paramref name="problems"/> greedily and, for each wrong completion of a problem with a gold solution,
    /// scores the gold prefix up to the first token where the two differ (the gold solution ends with EOS, as SFT trains
    /// it). A completion that stops before leaving the gold tokens (out of room) has no point.
    /// </summary>
    public static DivergenceResult Measure(Transformer model, ITokenizer tokenizer, ITask task, IReadOnlyList<Problem> problems, int batchSize = 128)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(problems);
        var generations = Evaluator.GreedyGenerations(model, tokenizer, task, problems, batchSize);
        var points = new List<DivergencePoint>();
        int wrong = 0;
        for (int i = 0; i < problems.Count; i++)
        {
            var problem = problems[i];
            if (task.Check(problem, generations[i].Text).Correct) continue;
            wrong++;
            if (GoldIds(tokenizer, task, problem) is not { } goldIds) continue;
            var chosen = generations[i].Tokens;
            int d = 0;
            while (d < chosen.Length && d < goldIds.Length && chosen[d] == goldIds[d]) d++;
            if (d >= chosen.Length || d >= goldIds.Length) continue;
            int step = tokenizer.Decode(goldIds.AsSpan(0, d)).Count(c => c == '\n');
            points.Add(Score(model, tokenizer, problem, goldIds, new DivergencePoint(problem.Id, d, step, 0, 0, 0, chosen[d], goldIds[d])));
        }
        return new DivergenceResult(problems.Count, wrong, points);
    }

    /// <summary>
    /// Scores <paramref name="reference"/>'s divergence points (measured on <paramref name="problems"/>) under
    /// <paramref name="model"/>: after the same gold prefix, its probability of the reference's chosen token and of the gold token.
    /// </summary>
    public static RescoredDivergence Rescore(Transformer model, ITokenizer tokenizer, ITask task, IReadOnlyList<Problem> problems, DivergenceResult reference)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(reference);
        var byId = problems.ToDictionary(p => p.Id);
        var points = reference.Points.Select(point =>
        {
            var problem = byId.TryGetValue(point.ProblemId, out var found) ? found
                : throw new ArgumentException($"divergence point of problem '{point.ProblemId}', which is not among the problems", nameof(reference));
            return Score(model, tokenizer, problem, GoldIds(tokenizer, task, problem)!, point);
        }).ToList();
        return new RescoredDivergence(reference, points);
    }

    /// <summary>The gold solution's token ids, ending with EOS as SFT trains it; null where the task writes none.</summary>
    private static int[]? GoldIds(ITokenizer tokenizer, ITask task, Problem problem) =>
        task.GoldSolution(problem) is { } gold ? [.. tokenizer.Encode(Solution.Join(gold)), tokenizer.Eos] : null;

    /// <summary>
    /// <paramref name="point"/> with <paramref name="model"/>'s probabilities of its chosen and gold tokens, and the gold
    /// token's rank, after the prompt and the first <see cref="DivergencePoint.Position"/> gold tokens (one full forward pass).
    /// </summary>
    private static DivergencePoint Score(Transformer model, ITokenizer tokenizer, Problem problem, int[] goldIds, DivergencePoint point)
    {
        int[] ids = [.. Prompting.Encode(tokenizer, problem.Prompt), .. goldIds.AsSpan(0, point.Position)];
        float[] probabilities;
        using (var scope = NewDisposeScope())
        using (no_grad())
        {
            var input = tensor(ids.Select(x => (long)x).ToArray(), [1, ids.Length], device: model.Device);
            probabilities = model.forward(input)[0, -1].softmax(-1).to(CPU).data<float>().ToArray();
        }
        double pGold = probabilities[point.GoldToken];
        return point with { GreedyProbability = probabilities[point.ChosenToken], GoldProbability = pGold, GoldRank = probabilities.Count(p => p > pGold) };
    }
}
