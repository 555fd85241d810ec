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

    [Fact]
    public void Strict_steps_reward_a_right_answer_only_when_every_step_checks()
    {
        // Given the gold solution (with text after its final line) and one whose off-by-one steps cancel out
        var problem = Task.Problems(Split.Test, 1, 3)[0];
        var s = ArithChain.Parse(problem.Prompt).Steps;
        string gold = Solution.Join(Task.GoldSolution(problem)!) + "\nthanks";
        string cancelling = $"{s[0].A}+{s[0].B}={s[0].C + 1}\n{s[0].C + 1}+{s[1].B}={s[1].C}\n#{s[1].C}";

        // Then the outcome alone rewards both, strict steps only the gold one; the cancelling one gets partial credit
        // like any wrong solution (its first of three gold lines is already wrong)
        Assert.Equal([1.0, 1.0], new VerifierReward(Task).Score([problem, problem], [gold, cancelling]));
        Assert.Equal([1.0, 0.0], new VerifierReward(Task, new RewardShaping(StrictSteps: true)).Score([problem, problem], [gold, cancelling]));
        Assert.Equal([1.0, 0.0], new VerifierReward(Task, new RewardShaping(PartialCredit: 0.5, StrictSteps: true)).Score([problem, problem], [gold, cancelling]));
    }

    [Fact]
    public void With_strict_steps_a_prefix_is_ruled_out_from_its_first_wrong_step_on()
    {
        // Given the gold solution's lines, and the off-by-one first step of a solution whose errors cancel out
        var problem = Task.Problems(Split.Test, 1, 3)[0];
        var gold = Task.GoldSolution(problem)!;
        var s = ArithChain.Parse(problem.Prompt).Steps;
        string wrongFirst = $"{s[0].A}+{s[0].B}={s[0].C + 1}\n";
        var strict = new VerifierReward(Task, new RewardShaping(StrictSteps: true));

        // Then no prefix of gold is ruled out (nor text after its final line), and the wrong step is, with whatever follows
        for (int k = 0; k <= gold.Count; k++)
            Assert.False(strict.CannotSolve(problem, string.Concat(gold.Take(k).Select(l => l + "\n"))));
        Assert.False(strict.CannotSolve(problem, Solution.Join(gold) + "\nthanks\n"));
        Assert.True(strict.CannotSolve(problem, wrongFirst));
        Assert.True(strict.CannotSolve(problem, wrongFirst + $"{s[0].C + 1}+{s[1].B}={s[1].C}\n#{s[1].C}\n"));
        Assert.True(strict.CannotSolve(problem, gold[0] + "\n#" + s[0].C + "\n"));   // a final answer one step early
        // Without strict steps a right answer may still follow a wrong step, so nothing is ruled out
        Assert.False(new VerifierReward(Task).CannotSolve(problem, wrongFirst));
    }
}
