using Ponder.Policy;
using Ponder.Rewards;
using Ponder.Tasks;

namespace Ponder.Search;

/// <summary>
/// A PRM that is no network (the gold step checker) charged as if it were a learned PRM with a prefix cache
/// (<see cref="KvCachedPrm"/>): within one search, the prompt once, then for each solution only the tokens beyond the
/// longest solution already scored that it extends; a step prefix scored before costs nothing. Token counts follow
/// <see cref="StepText.Encode"/> in <paramref name="tokenizer"/>, at <paramref name="flopsPerToken"/> each. The scores
/// are <paramref name="inner"/>'s; what <paramref name="inner"/> itself reports spending is ignored.
/// </summary>
public sealed class PrefixCachedOracle(IProcessReward inner, ITokenizer tokenizer, double flopsPerToken) : IPrefixCachedReward, IMeteredReward
{
    private readonly IProcessReward _inner = inner ?? throw new ArgumentNullException(nameof(inner));
    private readonly ITokenizer _tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
    private readonly PrefixLedger<int> _ledger = new();
    private readonly Lock _lock = new();

    /// <summary>The gold step checker charged like a prefix-cached PRM the size of <paramref name="policy"/>'s model (as <see cref="GoldStepReward.SizedLike"/>).</summary>
    public static PrefixCachedOracle GoldSizedLike(ITask task, LoadedPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return new PrefixCachedOracle(new GoldStepReward(task), policy.Tokenizer, policy.Model.FlopsPerToken(GoldStepReward.TypicalContext));
    }

    /// <summary>Tokens a prefix-cached PRM would run.</summary>
    public long Tokens { get; private set; }

    /// <summary>Tokens a PRM without the cache would run for the same calls.</summary>
    public long RequestedTokens { get; private set; }

    public double FlopsPerToken { get; } = flopsPerToken;

    public IReadOnlyList<IReadOnlyList<double>> ScoreSteps(IReadOnlyList<Problem> problems, IReadOnlyList<IReadOnlyList<string>> steps) =>
        ScoreSteps(new object(), problems, steps);

    public IReadOnlyList<IReadOnlyList<double>> ScoreSteps(object scope, IReadOnlyList<Problem> problems, IReadOnlyList<IReadOnlyList<string>> steps) =>
        PrefixCachedCall.ByProblem(scope, problems, steps, _lock, (problem, items, result) => Score(scope, problem, items, steps, result));

    private void Score(object scope, Problem problem, List<int> items, IReadOnlyList<IReadOnlyList<string>> steps, IReadOnlyList<double>[] result)
    {
        _ledger.Enter(scope, problem.Prompt);
        var missing = new List<int>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var ends = new List<(IReadOnlyList<string> Steps, int Length)>();
        foreach (int i in items)
        {
            if (steps[i].Count == 0) { result[i] = []; continue; }
            int length = StepText.Encode(_tokenizer, problem.Prompt, steps[i]).Ids.Length;
            RequestedTokens += length;
            if (_ledger.Known(steps[i]) is { } known) { result[i] = known; continue; }
            missing.Add(i);
            if (!seen.Add(PrefixLedger<int>.Key(steps[i], steps[i].Count))) continue;   // the same solution earlier in this call: run once
            int cached;
            if (_ledger.Longest(steps[i]) is { } longest) cached = longest.State;
            else
            {
                cached = Prompting.Encode(_tokenizer, problem.Prompt).Length;          // the prompt, run once per problem
                Tokens += cached;
                _ledger.End([], cached);
            }
            Tokens += length - cached;
            ends.Add((steps[i], length));                                              // usable from the next call on, as in KvCachedPrm
        }
        foreach (var (s, length) in ends) _ledger.End(s, length);
        if (missing.Count == 0) return;
        var scores = _inner.ScoreSteps(missing.Select(_ => problem).ToList(), missing.Select(i => steps[i]).ToList());
        if (scores.Count != missing.Count) throw new InvalidOperationException("the process reward did not return one score list per solution");
        for (int n = 0; n < missing.Count; n++)
        {
            result[missing[n]] = scores[n];
            _ledger.Scores(steps[missing[n]], scores[n]);
        }
    }
}
