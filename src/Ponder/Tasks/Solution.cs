namespace Ponder.Tasks;

/// <summary>The step format: one step a line, the final-answer line last; the policy then emits EOS.</summary>
public static class Solution
{
    public static string Join(IReadOnlyList<string> steps) => string.Join("\n", steps);

    /// <summary>Non-empty lines of a completion, in order.</summary>
    public static IReadOnlyList<string> Lines(string completion) =>
        completion.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0).ToList();

    /// <summary>Non-empty lines of a completion up to its first final-answer line (text after it dropped).</summary>
    public static IReadOnlyList<string> LinesToFinal(string completion)
    {
        var lines = Lines(completion);
        int final = lines.ToList().FindIndex(WrittenSolution.IsFinalLine);
        return final < 0 ? lines : lines.Take(final + 1).ToList();
    }

    /// <summary>
    /// Whether every step of <paramref name="completion"/> up to its final-answer line checks, by
    /// <paramref name="task"/>'s step checker (tasks with <see cref="ITask.HasStepChecker"/>): a right answer reached
    /// through errors that cancel out fails it.
    /// </summary>
    public static bool EveryStepChecks(ITask task, Problem problem, string completion) =>
        task.CheckStep(problem, LinesToFinal(completion));

    /// <summary>
    /// Whether a completion that begins with these whole <paramref name="lines"/> fails <see cref="EveryStepChecks"/>
    /// whatever follows: a step up to the final-answer line fails the step checker (a step prefix that fails fails in
    /// every continuation). False for a task without a step checker.
    /// </summary>
    public static bool StepRuledOut(ITask task, Problem problem, string lines) =>
        task.HasStepChecker && !task.CheckStep(problem, LinesToFinal(lines));

    /// <summary>With <paramref name="strictSteps"/>, whether <see cref="EveryStepChecks"/>; otherwise true.</summary>
    public static bool StepsCheck(ITask task, Problem problem, string completion, bool strictSteps) =>
        !strictSteps || EveryStepChecks(task, problem, completion);

    /// <summary>Refuses strict-steps training on a task that cannot check steps, before anything runs.</summary>
    public static void RequireStepCheckerForStrictSteps(ITask task)
    {
        if (!task.HasStepChecker) throw new ArgumentException($"strict steps need a task with a step checker; '{task.Name}' has none");
    }
}
