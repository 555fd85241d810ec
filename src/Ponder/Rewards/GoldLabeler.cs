using System.Diagnostics;
using Ponder.Policy;
using Ponder.Tasks;

namespace Ponder.Rewards;

/// <summary>
/// Gold process labels from the task's exact step checker: step j is 1 when steps 0..j are all right. A comparison
/// baseline for Monte-Carlo labels (how much do automatic labels lose?), never the default: real tasks have no
/// step checker.
/// </summary>
public static class GoldLabeler
{
    /// <summary>Gold labels of each sample's step prefixes.</summary>
    public static IReadOnlyList<double> Labels(ITask task, Problem problem, IReadOnlyList<string> steps)
    {
        if (!task.HasStepChecker) throw new NotSupportedException($"task '{task.Name}' has no step checker, so it has no gold process labels");
        return Enumerable.Range(1, steps.Count).Select(n => task.CheckStep(problem, steps.Take(n).ToList()) ? 1.0 : 0.0).ToList();
    }

    /// <summary>Samples solutions as <see cref="MonteCarloLabeler"/> does and labels them with the step checker.</summary>
    public static LabelSet Label(Generator generator, ITask task, LabelOptions o, string policyId)
    {
        if (!task.HasStepChecker) throw new NotSupportedException($"task '{task.Name}' has no step checker: use Monte-Carlo labels");
        var clock = Stopwatch.StartNew();
        generator.ResetCounters();
        var problems = task.Problems(Split.Train, o.Problems, o.Seed);
        var samples = SolutionSampler.Sample(generator, task, problems, o.Samples, o.Temperature, o.Seed, o.BatchSize, o.MaxSteps);
        var solutions = samples.Select(s => new LabeledSolution(s.Problem, s.Steps, Labels(task, s.Problem, s.Steps), s.ReadCorrect(task))).ToList();
        var cost = new LabelCost(generator.DecodeTokens, 0, generator.PrefillTokens, 0, clock.Elapsed.TotalSeconds);
        return new LabelSet(new LabelHeader(LabelHeader.CurrentFormat, LabelTask.Of(task), policyId, LabelSource.Gold, 0, o.Seed, o.Problems, o.Samples, solutions.Count, cost)
            { Temperature = o.Temperature, MaxSteps = o.MaxSteps, Split = LabelHeader.CurrentSplit }, solutions);
    }
}
