using Ponder.Rewards;
using Ponder.Search;
using Ponder.Tasks;

namespace Ponder.Tests.Search;

/// <summary>A PRM that scores a step by its text alone (unknown steps: 0), and reports one token per character read.</summary>
internal sealed class ToyReward(Dictionary<string, double> stepScores, double flopsPerToken = 0) : IProcessReward, IMeteredReward
{
    public int Calls { get; private set; }

    public long Tokens { get; private set; }

    public double FlopsPerToken { get; } = flopsPerToken;

    public IReadOnlyList<IReadOnlyList<double>> ScoreSteps(IReadOnlyList<Problem> problems, IReadOnlyList<IReadOnlyList<string>> steps)
    {
        Calls++;
        Tokens += steps.Sum(s => Solution.Join(s).Length);
        return steps.Select(s => (IReadOnlyList<double>)s.Select(line => stepScores.GetValueOrDefault(line)).ToList()).ToList();
    }
}
