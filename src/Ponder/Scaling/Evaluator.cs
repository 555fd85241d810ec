using System.Diagnostics;
using Ponder.Policy;
using Ponder.Tasks;

namespace Ponder.Scaling;

/// <summary>
/// Held-out accuracy of a policy on a task: greedy accuracy, sampled pass@1, unbiased pass@k and
/// majority vote @k for k = 1, 2, 4, … up to the sample count.
/// </summary>
public static class Evaluator
{
    /// <summary>Room for a completion: twice the longest gold solution plus slack, within the context window.</summary>
    public static int MaxNewTokens(ITokenizer tokenizer, ITask task, IReadOnlyList<Problem> problems, int contextLength)
    {
        int longestPrompt = problems.Max(p => Prompting.Encode(tokenizer, p.Prompt).Length);
        int longestGold = problems.Max(p => task.GoldSolution(p) is { } g ? tokenizer.Encode(Solution.Join(g)).Length + 1 : contextLength);
        return Math.Max(1, Math.Min(contextLength - longestPrompt, 2 * longestGold + 16));
    }

    /// <summary>Fraction of <paramref name="problems"/> the policy solves greedily.</summary>
    public static double GreedyAccuracy(Transformer model, ITokenizer tokenizer, ITask task, IReadOnlyList<Problem> problems, int batchSize = 128)
    {
        var outcomes = Greedy(model, tokenizer, task, problems, batchSize, out _);
        return outcomes.Count(o => o.Correct) / (double)problems.Count;
    }

    static List<Outcome> Greedy(Transformer model, ITokenizer tokenizer, ITask task, IReadOnlyList<Problem> problems, int batchSize, out long tokens)
    {
        var generations = GreedyGenerations(model, tokenizer, task, problems, batchSize);
        tokens = generations.Sum(g => (long)g.Tokens.Length);
        return problems.Select((p, i) => task.Check(p, generations[i].Text)).ToList();
    }

    /// <summary>Greedy completions of <paramref name="problems"/> with <see cref="MaxNewTokens"/> of room, in batches.</summary>
    internal static List<Generation> GreedyGenerations(Transformer model, ITokenizer tokenizer, ITask task, IReadOnlyList<Problem> problems, int batchSize)
    {
        var generator = new Generator(model, tokenizer);
        var options = new SamplingOptions { Temperature = 0, MaxNewTokens = MaxNewTokens(tokenizer, task, problems, model.Config.MaxPositions) };
        var generations = new List<Generation>(problems.Count);
        foreach (var chunk in problems.Chunk(batchSize))
            generations.AddRange(generator.Generate(chunk.Select(p => Prompting.Encode(tokenizer, p.Prompt)).ToList(), options));
        return generations;
    }

    public static EvalResult Run(Transformer model, ITokenizer tokenizer, ITask task, EvalOptions o, IProgress<string>? progress = null)
    {
        var clock = Stopwatch.StartNew();
        var problems = task.Problems(Split.Test, o.Count, o.Seed);
        var greedy = Greedy(model, tokenizer, task, problems, o.BatchSize, out long tokens);
        progress?.Report($"greedy: {greedy.Count(g => g.Correct)}/{problems.Count} correct");

        double meanSampleTokens = 0;
        var passAt = new SortedDictionary<int, double>();
        var majAt = new SortedDictionary<int, double>();
        if (o.Samples > 0)
        {
            long before = tokens;
            var samples = Sample(model, tokenizer, task, problems, o, ref tokens, progress);
            meanSampleTokens = (tokens - before) / (double)(problems.Count * o.Samples);
            bool vote = Thinking.BudgetSweep.AnswersVote(task);                // countdown's answers all name the target: no vote
            foreach (int k in EvalResult.Ks(o.Samples))
            {
                passAt[k] = samples.Average(s => PassAtK.Estimate(o.Samples, s.Count(x => x.Correct), k));
                if (vote) majAt[k] = samples.Average(s => PassAtK.MajorityAtK(s, k));
            }
        }
        return new EvalResult(task.Name, problems.Count, o.Samples, o.Temperature, o.Seed,
            greedy.Count(g => g.Correct) / (double)problems.Count, greedy.Count(g => g.WellFormed) / (double)problems.Count,
            passAt, majAt, tokens, clock.Elapsed.TotalSeconds, meanSampleTokens);
    }

    /// <summary>Per problem, its samples' (answer, correct) in sampling order.</summary>
    static List<List<(string? Answer, bool Correct)>> Sample(Transformer model, ITokenizer tokenizer, ITask task,
        IReadOnlyList<Problem> problems, EvalOptions o, ref long tokens, IProgress<string>? progress)
    {
        var generator = new Generator(model, tokenizer);
        int maxNew = MaxNewTokens(tokenizer, task, problems, model.Config.MaxPositions);
        int total = problems.Count * o.Samples, reported = 0;
        var generations = RepeatedSampler.Sample(generator, problems.Select(p => Prompting.Encode(tokenizer, p.Prompt)).ToList(), o.Samples,
            new SamplingOptions { Temperature = o.Temperature, MaxNewTokens = maxNew }, o.Seed, o.BatchSize,
            done => { if (done - reported >= 10 * o.BatchSize || done == total) { reported = done; progress?.Report($"sampled {done}/{total}"); } });
        var results = problems.Select((p, i) => generations[i].Select(g => { var c = task.Check(p, g.Text); return (c.Answer, c.Correct); }).ToList()).ToList();
        tokens += generations.Sum(g => g.Sum(x => (long)x.Tokens.Length));
        return results;
    }
}
