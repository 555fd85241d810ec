using Ponder.Rewards;
using Ponder.Tasks;

namespace Ponder.Search;

/// <summary>
/// A process reward that reuses work on step prefixes it has already scored, within one search only: search passes
/// its <see cref="ComputeMeter"/> as the scope, so one search never gets cheaper for what another computed (the meter
/// stays a per-search count). The plain <see cref="IProcessReward.ScoreSteps"/> is one scope per call.
/// </summary>
public interface IPrefixCachedReward : IProcessReward
{
    /// <summary>As <see cref="IProcessReward.ScoreSteps"/>, reusing what earlier calls with the same <paramref name="scope"/> computed.</summary>
    IReadOnlyList<IReadOnlyList<double>> ScoreSteps(object scope, IReadOnlyList<Problem> problems, IReadOnlyList<IReadOnlyList<string>> steps);
}
