using Ponder.Tasks;

namespace Ponder.Rewards;

/// <summary>One sampled solution with a process label per step and its outcome.</summary>
/// <param name="Problem">The problem it answers.</param>
/// <param name="Steps">Its steps (see <see cref="StepText.Steps"/>), the final-answer line included when written.</param>
/// <param name="Labels">Label of each step prefix in [0, 1]: for MC the fraction of completions that were correct, for gold 0 or 1.</param>
/// <param name="Correct">The verifier's verdict on the solution as a reward model reads it (<see cref="SampledSolution.ReadCorrect"/>; the ORM's label).</param>
public sealed record LabeledSolution(Problem Problem, IReadOnlyList<string> Steps, IReadOnlyList<double> Labels, bool Correct)
{
    /// <summary>Label of step <paramref name="j"/> as trained on: hard (any completion correct) or soft (fraction correct).</summary>
    public double Target(int j, LabelTarget target) => target == LabelTarget.Hard ? (Labels[j] > 0 ? 1 : 0) : Labels[j];
}
