using Ponder.Search;
using Ponder.Tasks;

namespace Ponder.Rewards;

/// <summary>
/// ORACLE process reward, for baselines and tests only: the task's exact step checker (<see cref="ITask.CheckStep"/>)
/// scores each step prefix 1 when every step so far is right and 0 otherwise. It is what a perfect PRM would say, so
/// search guided by it is an upper bound for search guided by a learned PRM. For the compute meter it charges what a
/// learned PRM of a given size would spend reading each scored solution once (prompt + steps, in tokens of
/// <paramref name="tokenizer"/>, at <paramref name="flopsPerToken"/>); with no tokenizer it charges nothing.
/// Example (arith, prompt <c>3 +4 *2</c>): steps [<c>3+4=7</c>, <c>7*2=15</c>, <c>#15</c>] → [1, 0, 0].
/// </summary>
public sealed class GoldStepReward(ITask task, Policy.ITokenizer? tokenizer = null, double flopsPerToken = 0) : IProcessReward, IMeteredReward
{
    private readonly ITask _task = task.HasStepChecker ? task : throw new ArgumentException($"task '{task.Name}' has no exact step checker, so it has no gold step reward");

    /// <summary>Mean context of a PRM token when it reads a built-in task's prompt and solution (about 64 tokens long).</summary>
    public const int TypicalContext = 32;

    /// <summary>The oracle charged like a PRM the size of <paramref name="policy"/>'s model.</summary>
    public static GoldStepReward SizedLike(ITask task, Policy.LoadedPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return new GoldStepReward(task, policy.Tokenizer, policy.Model.FlopsPerToken(TypicalContext));
    }

    public long Tokens { get; private set; }

    public double FlopsPerToken { get; } = flopsPerToken;

    public IReadOnlyList<IReadOnlyList<double>> ScoreSteps(IReadOnlyList<Problem> problems, IReadOnlyList<IReadOnlyList<string>> steps)
    {
        ArgumentNullException.ThrowIfNull(problems);
        ArgumentNullException.ThrowIfNull(steps);
        if (problems.Count != steps.Count) throw new ArgumentException($"{problems.Count} problems but {steps.Count} step lists");
        var result = new List<IReadOnlyList<double>>(steps.Count);
        for (int i = 0; i < steps.Count; i++)
        {
            if (tokenizer is not null) Tokens += 1 + tokenizer.Encode(problems[i].Prompt + Solution.Join(steps[i])).Length + steps[i].Count;
            var scores = new double[steps[i].Count];
            for (int j = 0; j < scores.Length; j++)
            {
                scores[j] = _task.CheckStep(problems[i], steps[i].Take(j + 1).ToList()) ? 1 : 0;
                if (scores[j] == 0) break;                                    // every later prefix contains the wrong step
            }
            result.Add(scores);
        }
        return result;
    }
}
