using System.Diagnostics;
using Ponder.Policy;
using Ponder.Scaling;
using Ponder.Tasks;

namespace Ponder.Rewards;

/// <summary>
/// Measures reward models on held-out problems: samples N solutions per problem from the policy, labels their
/// steps with the task's gold checker, and reports step AUC, calibration and first-error F1 for each model,
/// then best-of-N accuracy of every selector (oracle, majority, ORM, PRM × aggregation × max/weighted) on the
/// same samples.
/// </summary>
public static class RewardEvaluation
{
    public static RewardEvalResult Run(Generator policy, ITask task, RewardScorer? prm, RewardScorer? orm, RewardEvalOptions o, IProgress<string>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(o);
        var clock = Stopwatch.StartNew();
        policy.ResetCounters();
        var problems = task.Problems(Split.Test, o.Count, o.Seed);
        var samples = SolutionSampler.Sample(policy, task, problems, o.Samples, o.Temperature, o.Seed, o.BatchSize);
        progress?.Report($"sampled {samples.Count} solutions, {samples.Count(s => s.Outcome.Correct)} correct");
        var sampleProblems = samples.Select(s => s.Problem).ToList();
        var sampleSteps = samples.Select(s => s.Steps).ToList();
        var gold = task.HasStepChecker ? samples.Select(s => GoldLabeler.Labels(task, s.Problem, s.Steps)).ToList() : null;

        long rmTokens = 0;
        double rmFlops = 0;
        IReadOnlyList<IReadOnlyList<double>>? Score(RewardScorer? scorer)
        {
            if (scorer is null) return null;
            scorer.ResetCounters();
            var scores = scorer.ScoreSteps(sampleProblems, sampleSteps);
            (rmTokens, rmFlops) = (rmTokens + scorer.Tokens, rmFlops + scorer.Flops);
            return scores;
        }
        var prmScores = Score(prm);
        var ormScores = Score(orm);
        progress?.Report($"scored {rmTokens} reward-model tokens");

        var selection = new Dictionary<string, double>
        {
            ["oracle"] = Accuracy(samples, o.Samples, g => g.Any(s => s.Outcome.Correct)),
            ["majority"] = Accuracy(samples, o.Samples, g => Voted(g, Vote.Majority(g.Select(s => s.Outcome.Answer)))),
        };
        if (ormScores is not null)
        {
            var outcome = ormScores.Select(s => s.Count == 0 ? 0.0 : s[^1]).ToList();
            selection["orm_max"] = Select(samples, o.Samples, outcome, weighted: false);
            selection["orm_weighted"] = Select(samples, o.Samples, outcome, weighted: true);
        }
        if (prmScores is not null)
            foreach (var how in Enum.GetValues<Aggregation>())
            {
                var solutionScores = prmScores.Select(s => StepScores.Aggregate(s, how)).ToList();
                selection[RewardEvalResult.PrmKey(how, false)] = Select(samples, o.Samples, solutionScores, weighted: false);
                selection[RewardEvalResult.PrmKey(how, true)] = Select(samples, o.Samples, solutionScores, weighted: true);
            }

        StepQuality? Quality(IReadOnlyList<IReadOnlyList<double>>? scores) =>
            scores is null || gold is null ? null : StepQuality.Measure(scores, gold, o.Threshold);
        return new RewardEvalResult(task.Name, problems.Count, o.Samples, o.Temperature, o.Seed, o.Headline,
            samples.Count(s => s.Outcome.Correct) / (double)samples.Count, Quality(prmScores), Quality(ormScores), selection,
            policy.DecodeTokens, rmTokens, rmFlops, clock.Elapsed.TotalSeconds);
    }

    /// <summary>Share of problems (groups of <paramref name="n"/> consecutive samples) where <paramref name="right"/> holds.</summary>
    static double Accuracy(IReadOnlyList<SampledSolution> samples, int n, Func<SampledSolution[], bool> right) =>
        samples.Chunk(n).Average(g => right(g) ? 1.0 : 0.0);

    /// <summary>
    /// Whether the chosen answer is right: the sample giving it that scored highest decides (the first on ties, and the
    /// first without scores, as in maj@k), as a search's vote answers with its best-scored member. Where every sample
    /// names the same answer (countdown's target), the scores choose which solution stands for it.
    /// </summary>
    internal static bool Voted(SampledSolution[] group, string? answer, double[]? scores = null) =>
        answer is not null && group[Enumerable.Range(0, group.Length).Where(i => group[i].Outcome.Answer == answer)
            .MaxBy(i => (scores?[i] ?? 0, -i))].Outcome.Correct;

    /// <summary>Best-of-n by score: the top-scored sample (first on ties), or the answer with the largest total score.</summary>
    static double Select(IReadOnlyList<SampledSolution> samples, int n, IReadOnlyList<double> scores, bool weighted)
    {
        int hits = 0, groups = samples.Count / n;
        for (int g = 0; g < groups; g++)
        {
            var group = samples.Skip(g * n).Take(n).ToArray();
            var groupScores = scores.Skip(g * n).Take(n).ToArray();
            bool right = weighted
                ? Voted(group, Vote.Weighted(group.Select((s, i) => (s.Outcome.Answer, groupScores[i]))), groupScores)
                : group[Array.IndexOf(groupScores, groupScores.Max())].Outcome.Correct;
            if (right) hits++;
        }
        return (double)hits / groups;
    }
}
