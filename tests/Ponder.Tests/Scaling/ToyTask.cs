using Ponder.Tasks;

namespace Ponder.Tests.Scaling;

/// <summary>The toy policy's problem as a task: every problem is the same prompt, and the answer 2 is right.</summary>
internal sealed class ToyTask : ITask
{
    public string Name => "toy";

    public bool HasStepChecker => false;

    public IReadOnlyList<Problem> Problems(Split split, int count, int seed) =>
        Enumerable.Range(0, count).Select(i => new Problem($"{split}-{seed}-{i}", "toy?\n", "2")).ToList();

    public Outcome Check(Problem problem, string completion)
    {
        string? answer = Search.ToyPolicy.AnswerOf(problem, completion);
        return new Outcome(answer == "2", answer, answer is not null);
    }

    public IReadOnlyList<string> GoldSolution(Problem problem) => ["b1", "b2", "#2"];

    public bool CheckStep(Problem problem, IReadOnlyList<string> steps) => throw new NotSupportedException("toy task has no step checker");
}
