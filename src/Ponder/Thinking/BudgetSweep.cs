using Ponder.Policy;
using Ponder.Scaling;
using Ponder.Tasks;

namespace Ponder.Thinking;

/// <summary>
/// Sequential scaling (the same policy thinking longer, under a cap, with or without forcing) and parallel scaling (more
/// samples), measured on the same problems in the same units: tokens written per problem (the x axis, as s1 plots
/// thinking), and the prefill + decode tokens the generator ran per problem (each point's compute tokens: prompts'
/// prefills, and the prefill again of a forced row's context, included).
/// </summary>
public static class BudgetSweep
{
    /// <summary>Greedy (or sampled, per <paramref name="sampling"/>) accuracy at each budget.</summary>
    public static IReadOnlyList<BudgetPoint> Sequential(Transformer model, ITokenizer tokenizer, ITask task, IReadOnlyList<Problem> problems,
        IEnumerable<int> budgets, bool forced, SamplingOptions sampling, ThinkingBudget? template = null, int batchSize = 64)
    {
        ArgumentNullException.ThrowIfNull(problems);
        var points = new List<BudgetPoint>();
        foreach (int budget in budgets)
        {
            var b = (template ?? new ThinkingBudget()) with { MaxThinkingTokens = budget, MinThinkingTokens = forced ? budget : 0 };
            var (results, compute) = Run(model, tokenizer, problems, b, sampling, batchSize);
            int n = problems.Count;
            double correct = problems.Select((p, i) => task.Check(p, results[i].Completion).Correct ? 1 : 0).Sum();
            points.Add(new BudgetPoint(budget, forced, correct / n, results.Average(r => r.ThinkingTokens),
                results.Average(r => Generated(tokenizer, r)), compute / (double)n, results.Count(r => r.Capped) / (double)n, results.Average(r => r.Forcings)));
        }
        return points;
    }

    /// <summary>
    /// pass@k and maj@k for k = 1, 2, 4, … up to <paramref name="samples"/>, from that many samples of each problem under
    /// <paramref name="budget"/>; maj@k is null where answers cannot vote (see <see cref="AnswersVote"/>).
    /// </summary>
    public static IReadOnlyList<ParallelPoint> Parallel(Transformer model, ITokenizer tokenizer, ITask task, IReadOnlyList<Problem> problems,
        int samples, ThinkingBudget budget, double temperature, int seed, int batchSize = 64)
    {
        ArgumentNullException.ThrowIfNull(problems);
        var rows = problems.SelectMany(p => Enumerable.Repeat(p, samples)).ToList();
        var (results, compute) = Run(model, tokenizer, rows, budget, new SamplingOptions { Temperature = temperature, Seed = seed }, batchSize);
        double meanTokens = results.Average(r => Generated(tokenizer, r)), meanCompute = compute / (double)rows.Count;
        var perProblem = problems.Select((p, i) => Enumerable.Range(i * samples, samples)
            .Select(j => task.Check(p, results[j].Completion)).Select(o => (o.Answer, o.Correct)).ToList()).ToList();
        bool vote = AnswersVote(task);
        return EvalResult.Ks(samples).Select(k => new ParallelPoint(k,
            perProblem.Average(s => PassAtK.Estimate(samples, s.Count(x => x.Correct), k)),
            vote ? perProblem.Average(s => PassAtK.MajorityAtK(s, k)) : null, k * meanTokens, k * meanCompute)).ToList();
    }

    /// <summary>
    /// Whether a majority vote over the task's final answers can tell samples apart: not for countdown (alone or inside a
    /// thinking task), whose final line always names the target, so the vote would only take the first sample naming it.
    /// </summary>
    public static bool AnswersVote(ITask task) => (task is ThinkingTask thinking ? thinking.Inner : task) is not CountdownTask;

    /// <summary>Completions of the problems in batches, and the prefill + decode tokens they cost.</summary>
    public static (IReadOnlyList<ThoughtGeneration> Results, long ComputeTokens) Run(Transformer model, ITokenizer tokenizer,
        IReadOnlyList<Problem> problems, ThinkingBudget budget, SamplingOptions sampling, int batchSize = 64)
    {
        ArgumentNullException.ThrowIfNull(problems);
        ArgumentNullException.ThrowIfNull(sampling);
        var generator = new Generator(model, tokenizer);
        var thinker = new BudgetedThinker(generator);
        var results = new List<ThoughtGeneration>(problems.Count);
        int chunk = 0;
        foreach (var batch in problems.Chunk(batchSize))
            results.AddRange(thinker.Generate(batch.Select(p => p.Prompt).ToList(), budget, sampling with { Seed = Seeds.Mix(sampling.Seed, chunk++) }));
        return (results, generator.PrefillTokens + generator.DecodeTokens);
    }

    private static int Generated(ITokenizer tokenizer, ThoughtGeneration r) =>
        tokenizer.Encode(ThinkingFormat.Open + "\n").Length + r.ThinkingTokens + (r.Closed ? tokenizer.Encode(ThinkingFormat.Close).Length : 0) + r.AnswerTokens;
}
