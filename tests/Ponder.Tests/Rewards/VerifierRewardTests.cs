using Ponder.Rewards;
using Ponder.Tasks;

namespace Ponder.Tests.Rewards;

public sealed class VerifierRewardTests
{
    static readonly ITask Task = TaskRegistry.Create("arith:steps=2,digits=1,ops=+");

    [Fact]
    public void Correct_scores_one_and_shaping_terms_are_added_as_named()
    {
        var problem = Task.Problems(Split.Test, 1, 3)[0];
        string gold = Solution.Join(Task.GoldSolution(problem)!);
        string[] lines = gold.Split('\n');
        string wrongSecondStep = lines[0] + "\n" + lines[1].Split('=')[0] + "=999\n#999";

        var plain = new VerifierReward(Task).Score([problem, problem], [gold, wrongSecondStep]);
        Assert.Equal([1.0, 0.0], plain);

        var shaped = new VerifierReward(Task, new RewardShaping(Format: 0.1, PartialCredit: 0.5)).Score([problem, problem, problem], [gold, wrongSecondStep, "no idea"]);
        Assert.Equal(1.1, shaped[0], 12);
        Assert.Equal(0.1 + 0.5 / 3, shaped[1], 12);  // well formed, one of three gold lines right
        Assert.Equal(0.0, shaped[2], 12);

        var penalized = new VerifierReward(Task, new RewardShaping(LengthPenalty: 0.01)).Score([problem], [gold]);
        Assert.Equal(1 - 0.01 * gold.Length / 100.0, penalized[0], 12);
    }
}
