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
        Assert.Equal(["p1", "p2"], result.ToJson()["points"]!.AsArray().Select(p => (string)p!["problem"]!));
    }

    [Fact]
    public void Rescoring_reads_another_policy_at_the_same_points()
    {
        // Given the bigram policy's divergence points, and a copy of it whose head prefers '7' to '4' after '#'
        var policy = LoadedPolicy.Load(TinyServedModel.Save(_dir), CPU);
        var task = new GoldTextTask();
        var problems = task.Problems(Split.Test, 3, 0);
        var reference = GreedyDivergence.Measure(policy.Model, policy.Tokenizer, task, problems);
        var trained = LoadedPolicy.Load(TinyServedModel.Save(_dir), CPU);
        int four = trained.Tokenizer.Encode("4")[0], seven = trained.Tokenizer.Encode("7")[0];
        using (no_grad())
        {
            var head = trained.Model.named_parameters().Single(p => p.name == "lm_head.weight").parameter;
            using var row = head[four].clone();
            head[four].copy_(head[seven]);
            head[seven].copy_(row);
        }

        // When the copy rescores them, and the policy rescores its own
        var rescored = GreedyDivergence.Rescore(trained.Model, trained.Tokenizer, task, problems, reference);
        var same = GreedyDivergence.Rescore(policy.Model, policy.Tokenizer, task, problems, reference);

        // Then at "#7"'s point the copy gives the reference's '4' 0.3 and the gold '7' 0.5, its first choice; the point
        // after a newline is unchanged; and the policy itself reproduces its own probabilities
        Assert.Equal((four, seven), (reference.Points[0].ChosenToken, reference.Points[0].GoldToken));
        Assert.Equal(0.3, rescored.Points[0].GreedyProbability, 3);
        Assert.Equal(0.5, rescored.Points[0].GoldProbability, 3);
        Assert.Equal((0, 1), (rescored.Points[0].GoldRank, rescored.Points[1].GoldRank));
        Assert.Equal((0.5, 0.5), (rescored.GoldPreferred, rescored.GoldFirst));
        Assert.Equal(reference.Points, same.Points);
        Assert.Equal((0.0, 0.0), (same.GoldPreferred, same.GoldFirst));
    }
}
