using Ponder.Tasks;

namespace Ponder.Rewards;

/// <summary>Scores whole solutions: higher is better. Batched, because reward models run on batches.</summary>
public interface IOutcomeReward
{
    /// <summary>One score per completion; <c>completions[i]</c> answers <c>problems[i]</c>.</summary>
    IReadOnlyList<double> Score(IReadOnlyList<Problem> problems, IReadOnlyList<string> completions);
}
