using Ponder.Tasks;

namespace Ponder.Rewards;

/// <summary>
/// Outcome reward from the task's verifier: 1 for a correct completion, 0 otherwise, plus the named
/// shaping terms. Example (arith, Format = 0.1): "3+4=7\n#7" → 1.1; "3+4=8\n#8" → 0.1; "seven" → 0.
/// </summary>
public sealed class VerifierReward(ITask task, RewardShaping? shaping = null) : IOutcomeReward
{
    readonly RewardShaping shaping = shaping ?? new RewardShaping();

    public IReadOnlyList<double> Score(IReadOnlyList<Problem> problems, IReadOnlyList<string> completions)
    {
        if (problems.Count != completions.Count) throw new ArgumentException($"{problems.Count} problems but {completions.Count} completions");
        var rewards = new double[problems.Count];
        for (int i = 0; i < rewards.Length; i++)
        {
            var outcome = task.Check(problems[i], completions[i]);
            bool correct = outcome.Correct && Solution.StepsCheck(task, problems[i], completions[i], shaping.StrictSteps);
            double r = correct ? 1 : 0;
            if (outcome.WellFormed) r += shaping.Format;
            r -= shaping.LengthPenalty * completions[i].Length / 100.0;
            if (!correct && shaping.PartialCredit != 0 && task.HasStepChecker)
                r += shaping.PartialCredit * RightLeadingSteps(problems[i], completions[i]);
            rewards[i] = r;
        }
        return rewards;
    }

    /// <summary>Whether the completion earns the correctness part of the reward: a right answer (and with strict steps, every step right).</summary>
    public bool Solves(Problem problem, string completion) =>
        task.Check(problem, completion).Correct && Solution.StepsCheck(task, problem, completion, shaping.StrictSteps);

    /// <summary>
    /// Whether a completion that begins with these whole <paramref name="lines"/> can no longer earn the correctness part:
    /// with strict steps, one of its steps fails (<see cref="Solution.StepRuledOut"/>). False without strict steps.
    /// </summary>
    public bool CannotSolve(Problem problem, string lines) => shaping.StrictSteps && Solution.StepRuledOut(task, problem, lines);

    /// <summary>Fraction of the gold solution's lines (steps and final line) that the completion gets right before its first wrong one.</summary>
    double RightLeadingSteps(Problem problem, string completion)
    {
        var lines = Solution.Lines(completion);
        int goldSteps = Math.Max(1, (task.GoldSolution(problem)?.Count ?? lines.Count));
        int right = 0;
        for (int j = 1; j <= lines.Count && task.CheckStep(problem, lines.Take(j).ToList()); j++) right = j;
        return Math.Min(1.0, (double)right / goldSteps);
    }
}
