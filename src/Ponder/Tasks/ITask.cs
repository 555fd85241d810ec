namespace Ponder.Tasks;

/// <summary>
/// A verifiable reasoning task: generates problems, checks completions, and (where it can solve
/// itself) writes gold step-by-step solutions. The step format is one step a line; the last line
/// of a built-in task's solution is <c>#&lt;answer&gt;</c>.
/// </summary>
public interface ITask
{
    /// <summary>
    /// Canonical registry spec with every option spelled out, e.g. <c>arith:steps=3,digits=3,ops=+-*</c>;
    /// <see cref="TaskRegistry.Create"/> of it rebuilds an identical task.
    /// </summary>
    string Name { get; }

    /// <summary>
    /// <paramref name="count"/> distinct problems of <paramref name="split"/>, deterministic in <paramref name="seed"/>.
    /// Train and test are disjoint by construction (a hash of the canonical problem decides the split).
    /// Generated tasks throw <see cref="ArgumentException"/> when their problem space holds too few problems
    /// of the split; file-backed tasks return all they have when there are fewer.
    /// </summary>
    IReadOnlyList<Problem> Problems(Split split, int count, int seed);

    /// <summary>Verifies a completion (the text the policy wrote after <see cref="Problem.Prompt"/>).</summary>
    Outcome Check(Problem problem, string completion);

    /// <summary>Gold solution as step lines, the last being the final-answer line; null where the task cannot solve itself.</summary>
    IReadOnlyList<string>? GoldSolution(Problem problem);

    /// <summary>True where <see cref="CheckStep"/> gives exact process labels.</summary>
    bool HasStepChecker { get; }

    /// <summary>
    /// Gold process label of a step prefix: true when every step in <paramref name="steps"/> is correct
    /// (for arith: each line is the right next computation; for countdown: each line is a valid move and
    /// the target is still reachable). Throws <see cref="NotSupportedException"/> when <see cref="HasStepChecker"/> is false.
    /// </summary>
    bool CheckStep(Problem problem, IReadOnlyList<string> steps);
}
