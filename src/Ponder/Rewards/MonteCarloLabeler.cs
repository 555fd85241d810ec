using System.Diagnostics;
using Ponder.Policy;
using Ponder.Scaling;
using Ponder.Tasks;

namespace Ponder.Rewards;

/// <summary>
/// Math-Shepherd automatic process labels (Wang et al. 2024). For each sampled solution and each step j, run k
/// completions of the policy from the prefix "prompt + steps 0..j"; the soft label is the fraction that reach a
/// correct final answer, the hard label whether any does. The label of a prefix that already holds the final
/// line is the verifier's verdict on it (completing it cannot change the answer). With k = 0 nothing is completed
/// and every step carries the solution's outcome (outcome supervision: all an ORM needs).
/// </summary>
/// <remarks>
/// Batched with prefix reuse: a batch of distinct prefixes is prefilled once, its KV cache forked k times, and all
/// rows decoded together. Identical prefixes (common: correct first steps of one problem) are completed once and
/// share their label. Prefixes are batched by step count, so rows in a batch need similar completion lengths.
/// </remarks>
public sealed class MonteCarloLabeler(Generator generator, ITask task, LabelOptions options)
{
    public LabelSet Label(string policyId, IProgress<string>? progress = null)
    {
        var o = options;
        ArgumentOutOfRangeException.ThrowIfNegative(o.K);
        var clock = Stopwatch.StartNew();
        generator.ResetCounters();
        var problems = task.Problems(Split.Train, o.Problems, o.Seed);
        var drawn = SolutionSampler.Sample(generator, task, problems, o.Samples, o.Temperature, o.Seed, o.BatchSize, o.MaxSteps);
        long sampled = generator.DecodeTokens;
        // Steps re-encoded one by one (each with its newline) can outgrow the context a sample filled: such a sample leaves
        // no room to complete its last prefix, and a reward model could not read it whole either, so it is not labelled.
        int window = generator.Model.Config.MaxPositions;
        var samples = drawn.Where(s => StepText.Encode(generator.Tokenizer, s.Problem.Prompt, s.Steps).Ids.Length < window).ToList();
        progress?.Report($"sampled {drawn.Count} solutions ({drawn.Count(s => s.Outcome.Correct)} correct), {sampled} tokens" +
            (samples.Count < drawn.Count ? $"; {drawn.Count - samples.Count} too long for the context to label" : ""));

        // Distinct step prefixes that need completions (those before the final line).
        var index = new Dictionary<(string Id, string Prefix), int>();
        var prefixes = new List<(Problem Problem, IReadOnlyList<string> Steps, int Count)>();
        foreach (var s in samples)
            for (int j = 0; j < s.Steps.Count; j++)
            {
                if (StepText.IsFinal(s.Steps[j]) || o.K == 0) continue;
                var key = (s.Problem.Id, StepText.Prefix(s.Steps, j + 1));
                if (index.TryAdd(key, prefixes.Count)) prefixes.Add((s.Problem, s.Steps, j + 1));
            }
        var correct = Complete(prefixes, progress);

        var solutions = samples.Select(s =>
        {
            bool read = s.ReadCorrect(task);                                    // the outcome of what a reward model reads
            return new LabeledSolution(s.Problem, s.Steps, s.Steps.Select((step, j) =>
                StepText.IsFinal(step) || o.K == 0 ? (read ? 1.0 : 0.0)
                : correct[index[(s.Problem.Id, StepText.Prefix(s.Steps, j + 1))]] / (double)o.K).ToList(), read);
        }).ToList();
        var cost = new LabelCost(sampled, generator.DecodeTokens - sampled, generator.PrefillTokens, (long)prefixes.Count * o.K, clock.Elapsed.TotalSeconds);
        var header = new LabelHeader(LabelHeader.CurrentFormat, LabelTask.Of(task), policyId, LabelSource.Mc, o.K, o.Seed, o.Problems, o.Samples, solutions.Count, cost)
        {
            Temperature = o.Temperature, MaxSteps = o.MaxSteps, Split = LabelHeader.CurrentSplit,
        };
        return new LabelSet(header, solutions);
    }

    /// <summary>Correct completions out of k for each prefix.</summary>
    int[] Complete(IReadOnlyList<(Problem Problem, IReadOnlyList<string> Steps, int Count)> prefixes, IProgress<string>? progress)
    {
        var o = options;
        var tokenizer = generator.Tokenizer;
        var correct = new int[prefixes.Count];
        if (prefixes.Count == 0) return correct;
        int maxNew = Evaluator.MaxNewTokens(tokenizer, task, prefixes.Select(p => p.Problem).Distinct().ToList(), generator.Model.Config.MaxPositions);
        int perBatch = Math.Max(1, o.BatchSize / o.K);
        var order = Enumerable.Range(0, prefixes.Count).OrderBy(i => prefixes[i].Count).ThenBy(i => i).ToArray();
        int batchIndex = 0;
        foreach (var batch in order.Chunk(perBatch))
        {
            var ids = batch.Select(i => StepText.Encode(tokenizer, prefixes[i].Problem.Prompt, prefixes[i].Steps.Take(prefixes[i].Count).ToList()).Ids).ToList();
            var sampling = new SamplingOptions { Temperature = o.Temperature, MaxNewTokens = maxNew, Seed = Seeds.Mix(o.Seed, 1_000_000 + batchIndex++) };
            using var state = generator.Prefill(ids);
            using var forked = state.Fork(Enumerable.Range(0, batch.Length).SelectMany(r => Enumerable.Repeat(r, o.K)).ToArray());
            var generations = generator.Continue(forked, sampling);
            for (int r = 0; r < generations.Count; r++)
            {
                var (problem, steps, count) = prefixes[batch[r / o.K]];
                if (task.Check(problem, StepText.Prefix(steps, count) + generations[r].Text).Correct) correct[batch[r / o.K]]++;
            }
            if (batchIndex % 20 == 0) progress?.Report($"completed {Math.Min(order.Length, batchIndex * perBatch)}/{order.Length} step prefixes × {o.K}");
        }
        return correct;
    }
}
