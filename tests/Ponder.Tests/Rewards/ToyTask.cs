using Ponder.Tasks;

namespace Ponder.Tests.Rewards;

/// <summary>
/// A task for labeller tests: prompts <c>q&lt;i&gt;</c>, and a completion is correct when its last non-empty line is "a".
/// It has no gold solution and no step checker.
/// </summary>
internal sealed class ToyTask : ITask
{
    public string Name => "toy";

    public bool HasStepChecker => false;

    public IReadOnlyList<Problem> Problems(Split split, int count, int seed) =>
        Enumerable.Range(0, count).Select(i => new Problem($"{split}-{seed}-{i}", $"q{i % 10}\n", "a")).ToList();

    public Outcome Check(Problem problem, string completion)
    {
        var lines = Solution.Lines(completion);
        bool correct = lines.Count > 0 && lines[^1] == "a";
        return new Outcome(correct, lines.Count > 0 ? lines[^1] : null, lines.Count > 0);
    }

    public IReadOnlyList<string>? GoldSolution(Problem problem) => null;

    public bool CheckStep(Problem problem, IReadOnlyList<string> steps) => throw new NotSupportedException("toy task has no step checker");
}
