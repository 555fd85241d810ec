using Ponder.Tasks;

namespace Ponder.Rewards;

/// <summary>Scores every step prefix of solutions: <c>result[i][j]</c> is the score of steps 0..j of solution i.</summary>
public interface IProcessReward
{
    IReadOnlyList<IReadOnlyList<double>> ScoreSteps(IReadOnlyList<Problem> problems, IReadOnlyList<IReadOnlyList<string>> steps);
}
