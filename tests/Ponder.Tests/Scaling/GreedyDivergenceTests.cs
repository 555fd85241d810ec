using Ponder.Policy;
using Ponder.Scaling;
using Ponder.Tasks;
using Ponder.Tests.Serving;
using static TorchSharp.torch;

namespace Ponder.Tests.Scaling;

public sealed class GreedyDivergenceTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Problems whose gold solution is their <see cref="Problem.Answer"/> text; a completion is right when it is that text.</summary>
    private sealed class GoldTextTask : ITask
    {
        public string Name => "gold-text";

        public bool HasStepChecker => false;

        public IReadOnlyList<Problem> Problems(Split split, int count, int seed) =>
            new[] { "#4", "#7", "1\n#4" }.Select((gold, i) => new Problem($"p{i}", TinyServedModel.Problem + "\n", gold)).Take(count).ToList();

        public Outcome Check(Problem problem, string completion) => new(completion == problem.Answer, completion, true);

        public IReadOnlyList<string> GoldSolution(Problem problem) => problem.Answer.Split('\n');

        public bool CheckStep(Problem problem, IReadOnlyList<string> steps) => throw new NotSupportedException();
    }

    [Fact]
    public void Each_wrong_greedy_completion_is_scored_where_it_first_leaves_the_gold_tokens()
    {
        // Given the bigram policy whose greedy completion is "#4" (after a newline '#' 0.5, '1' and '2' 0.25 each;
        // after '#' '4' 0.5, '7' 0.3, '9' 0.2; after a digit EOS 0.45), and gold solutions "#4", "#7" and "1\n#4"
        var policy = LoadedPolicy.Load(TinyServedModel.Save(_dir), CPU);
        var task = new GoldTextTask();

        // When its divergence from the gold solutions is measured
        var result = GreedyDivergence.Measure(policy.Model, policy.Tokenizer, task, task.Problems(Split.Test, 3, 0));

        // Then the right one has no point, "#7" leaves at the digit (4 at 0.5 over 7 at 0.3, the second choice), and
        // "1\n#4" at the first token ('#' at 0.5 over '1' at 0.25, which only '#' beats), both in the first step
        Assert.Equal((3, 2), (result.Problems, result.GreedyWrong));
        Assert.Equal(["p1", "p2"], result.Points.Select(p => p.ProblemId));
        var (digit, first) = (result.Points[0], result.Points[1]);
        Assert.Equal((1, 0, 1), (digit.Position, digit.Step, digit.GoldRank));
        Assert.Equal(0.5, digit.GreedyProbability, 3);
        Assert.Equal(0.3, digit.GoldProbability, 3);
        Assert.Equal((0, 0, 1), (first.Position, first.Step, first.GoldRank));
        Assert.Equal(0.5, first.GreedyProbability, 3);
        Assert.Equal(0.25, first.GoldProbability, 3);
        Assert.Equal(0.275, result.MedianGoldProbability, 3);
        Assert.Equal(1.0, result.GoldSecond);
        Assert.Equal(1.0, result.GoldAtLeastTenth);
        Assert.Equal(2, (int)result.ToJson()["steps"]!["1"]!);
    }
}
