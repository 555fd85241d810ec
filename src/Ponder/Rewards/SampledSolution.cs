using Ponder.Tasks;

namespace Ponder.Rewards;

/// <summary>One solution sampled from the policy, split into steps and checked.</summary>
/// <param name="Problem">The problem.</param>
/// <param name="Text">The completion as generated.</param>
/// <param name="Steps">Its steps (<see cref="StepText.Steps"/>).</param>
/// <param name="Outcome">The verifier's verdict.</param>
public sealed record SampledSolution(Problem Problem, string Text, IReadOnlyList<string> Steps, Outcome Outcome)
{
    /// <summary>
    /// The verdict on what a reward model reads of it: where its steps end at a final line, the verifier's verdict on those
    /// steps (a completion may answer again after it, as in <c>#### 71\nwait\n#### 72</c>, and the verifier would read the
    /// later answer); otherwise (steps cut before any answer) the verdict on the whole text.
    /// </summary>
    public bool ReadCorrect(ITask task)
    {
        ArgumentNullException.ThrowIfNull(task);
        return Steps.Count > 0 && StepText.IsFinal(Steps[^1]) ? task.Check(Problem, StepText.Prefix(Steps, Steps.Count)).Correct : Outcome.Correct;
    }
}
