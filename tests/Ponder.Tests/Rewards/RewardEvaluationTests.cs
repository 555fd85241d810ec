using Ponder.Rewards;
using Ponder.Tasks;

namespace Ponder.Tests.Rewards;

public sealed class RewardEvaluationTests
{
    private static SampledSolution Sample(string answer, bool correct) =>
        new(new Problem("p", "q\n", "100"), $"#{answer}", [$"#{answer}"], new Outcome(correct, answer, true));

    [Fact]
    public void A_weighted_vote_is_judged_by_the_best_scored_solution_that_gives_its_answer()
    {
        // Given three samples that all name the target (as countdown's do), of which only the second is a valid solution
        SampledSolution[] group = [Sample("100", false), Sample("100", true), Sample("100", false)];

        // Then a vote scored by a reward model stands on the member it scored highest; without scores on the first, as maj@k
        Assert.True(RewardEvaluation.Voted(group, "100", [0.1, 0.9, 0.5]));
        Assert.False(RewardEvaluation.Voted(group, "100", [0.9, 0.1, 0.5]));
        Assert.False(RewardEvaluation.Voted(group, "100"));
        Assert.False(RewardEvaluation.Voted(group, null, [0.1, 0.9, 0.5]));
    }
}
