using Ponder.Policy;
using Ponder.Rewards;
using Ponder.Tasks;

namespace Ponder.Learning;

/// <summary>A batch's rollouts laid out a group a problem: group g is rows g·G to g·G + G − 1.</summary>
static class GroupRows
{
    /// <summary>The groups none of whose rows solves its problem, in order.</summary>
    public static List<int> Unsolved(IReadOnlyList<Problem> problems, int group, IReadOnlyList<Generation> gens, VerifierReward reward) =>
        Enumerable.Range(0, problems.Count).Where(g => !Enumerable.Range(g * group, group).Any(i => reward.Solves(problems[g], gens[i].Text))).ToList();

    /// <summary>Puts <paramref name="solution"/> in group <paramref name="g"/>'s last row, with its reward and its flag.</summary>
    public static void PutLast(int g, int group, Problem problem, Generation solution, VerifierReward reward, List<Generation> gens,
        double[] rewards, bool[] flags)
    {
        int last = g * group + group - 1;
        gens[last] = solution;
        rewards[last] = reward.Score([problem], [solution.Text])[0];
        flags[last] = true;
    }
}
