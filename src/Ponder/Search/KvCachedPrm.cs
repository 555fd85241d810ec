using Ponder.Policy;
using Ponder.Rewards;
using Ponder.Tasks;
using static TorchSharp.torch;

namespace Ponder.Search;

/// <summary>
/// A learned PRM with a prefix cache: it keeps the reward model's KV cache at the end of every solution it scored
/// on the current problem, so a solution that extends one already scored (beam search, DVTS and MCTS score a child
/// after its parent) runs only its new tokens, the prompt runs once per problem, and a prefix scored before is not
/// run at all. Scores equal <see cref="RewardScorer"/>'s (attention is causal: a step's score reads only the tokens
/// up to its newline). <see cref="Tokens"/> counts the tokens actually run, which is what the compute meter charges;
/// <see cref="RequestedTokens"/> counts those a scorer without the cache would run.
/// </summary>
/// <remarks>
/// One search and problem is cached at a time (<see cref="IPrefixCachedReward"/>): a call for another frees the cache first. Solutions that continue rows of
/// the same cached batch are scored in one batch (right-padded; padding is masked). A solution longer than the
/// model's window is scored without the cache, as <see cref="RewardScorer"/> reads it. Calls are serialized.
/// </remarks>
public sealed class KvCachedPrm : IPrefixCachedReward, IMeteredReward, IDisposable
{
    private readonly RewardModel _model;
    private readonly ITokenizer _tokenizer;
    private readonly RewardScorer _uncached;
    private readonly PrefixLedger<(KvCache Cache, int Row)> _ledger = new();
    private readonly List<KvCache> _caches = [];
    private readonly Dictionary<KvCache, LikelihoodState> _states = new(ReferenceEqualityComparer.Instance);
    private readonly Lock _lock = new();

    public KvCachedPrm(RewardModel model, ITokenizer tokenizer)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        _uncached = new RewardScorer(model, tokenizer, RewardModelKind.Prm);
    }

    /// <summary>Reward-model tokens run so far.</summary>
    public long Tokens { get; private set; }

    /// <summary>Tokens a scorer without the cache would have run for the same calls.</summary>
    public long RequestedTokens { get; private set; }

    /// <summary>As <see cref="RewardScorer.FlopsPerToken"/>: the cost of a token at half the model's context.</summary>
    public double FlopsPerToken => _model.FlopsPerToken(_model.Config.MaxPositions / 2);

    public IReadOnlyList<IReadOnlyList<double>> ScoreSteps(IReadOnlyList<Problem> problems, IReadOnlyList<IReadOnlyList<string>> steps) =>
        ScoreSteps(new object(), problems, steps);

    public IReadOnlyList<IReadOnlyList<double>> ScoreSteps(object scope, IReadOnlyList<Problem> problems, IReadOnlyList<IReadOnlyList<string>> steps) =>
        PrefixCachedCall.ByProblem(scope, problems, steps, _lock, (problem, items, result) =>
        {
            using var inference = inference_mode();
            Score(scope, problem, items, steps, result);
        });

    /// <summary>A solution to run: its encoding, the steps already cached and the row holding them.</summary>
    private sealed record Pending(int Item, int[] Ids, int[] Ends, int Cached, int CachedTokens, KvCache Cache, int Row);

    private void Score(object scope, Problem problem, List<int> items, IReadOnlyList<IReadOnlyList<string>> steps, IReadOnlyList<double>[] result)
    {
        if (_ledger.Enter(scope, problem.Prompt)) Free();
        int window = _model.Config.MaxPositions;
        int[] prompt = Prompting.Encode(_tokenizer, problem.Prompt);
        var first = new Dictionary<string, int>(StringComparer.Ordinal);
        var aliases = new List<(int Item, int Same)>();
        var pending = new List<Pending>();
        var tooLong = new List<int>();
        foreach (int i in items)
        {
            if (steps[i].Count == 0) { result[i] = []; continue; }
            var (ids, ends, _) = StepText.Encode(_tokenizer, problem.Prompt, steps[i]);
            RequestedTokens += Math.Min(ids.Length, window);
            if (_ledger.Known(steps[i]) is { } known) { result[i] = known; continue; }
            if (first.TryGetValue(PrefixLedger<int>.Key(steps[i], steps[i].Count), out int same)) { aliases.Add((i, same)); continue; }
            first[PrefixLedger<int>.Key(steps[i], steps[i].Count)] = i;
            if (ids.Length > window) { tooLong.Add(i); continue; }
            var (k, (cache, row)) = _ledger.Longest(steps[i]) ?? (0, Root(prompt));
            pending.Add(new Pending(i, ids, ends, k, k == 0 ? prompt.Length : ends[k - 1] + 1, cache, row));
        }
        foreach (var batch in pending.GroupBy(p => p.Cache, ReferenceEqualityComparer.Instance))
            Run(batch.ToList(), steps, result);
        if (tooLong.Count > 0)
        {
            long before = _uncached.Tokens;
            var scores = _uncached.ScoreSteps(tooLong.Select(_ => problem).ToList(), tooLong.Select(i => steps[i]).ToList());
            Tokens += _uncached.Tokens - before;
            for (int n = 0; n < tooLong.Count; n++) { result[tooLong[n]] = scores[n]; _ledger.Scores(steps[tooLong[n]], scores[n]); }
        }
        foreach (var (i, same) in aliases) result[i] = result[same];
    }

    /// <summary>The prompt's cached row, run once per problem.</summary>
    private (KvCache, int) Root(int[] prompt)
    {
        var cache = Track(_model.NewCache(1, prompt.Length));
        using var scope = NewDisposeScope();
        var (_, state) = _model.ScoresAppended(tensor(prompt.Select(t => (long)t).ToArray(), [1, prompt.Length], device: _model.Device), cache, null, null);
        _states[cache] = state.MoveToOuterDisposeScope();
        Tokens += prompt.Length;
        _ledger.End([], (cache, 0));
        return (cache, 0);
    }

    /// <summary>Forks the cached rows of one batch, appends each solution's new tokens, and reads the new steps' scores.</summary>
    private void Run(List<Pending> batch, IReadOnlyList<IReadOnlyList<string>> steps, IReadOnlyList<double>[] result)
    {
        int b = batch.Count, t = batch.Max(p => p.Ids.Length - p.CachedTokens);
        var ids = new long[b * t];
        var valid = new bool[b * t];
        Array.Fill(ids, _tokenizer.Pad);
        for (int r = 0; r < b; r++)
            for (int j = batch[r].CachedTokens; j < batch[r].Ids.Length; j++)
                (ids[r * t + j - batch[r].CachedTokens], valid[r * t + j - batch[r].CachedTokens]) = (batch[r].Ids[j], true);
        var forked = Track(batch[0].Cache.Select(batch.Select(p => (long)p.Row).ToArray()));
        double[] probabilities;
        using (var scope = NewDisposeScope())
        {
            var device = _model.Device;
            var before = _states[batch[0].Cache].Select(tensor(batch.Select(p => (long)p.Row).ToArray(), device: device));
            var (logits, after) = _model.ScoresAppended(tensor(ids, [b, t], device: device), forked, tensor(valid, [b, t], device: device), before); // (B, T)
            _states[forked] = after.MoveToOuterDisposeScope();
            probabilities = logits.sigmoid().to(ScalarType.Float64).cpu().data<double>().ToArray();                            // (B·T)
        }
        for (int r = 0; r < b; r++)
        {
            var p = batch[r];
            var s = steps[p.Item];
            var scores = new double[s.Count];
            var known = _ledger.Known(s.Take(p.Cached).ToList())!;
            for (int j = 0; j < s.Count; j++) scores[j] = j < p.Cached ? known[j] : probabilities[r * t + p.Ends[j] - p.CachedTokens];
            Tokens += p.Ids.Length - p.CachedTokens;
            _ledger.Scores(s, scores);
            _ledger.End(s, (forked, r));
            result[p.Item] = scores;
        }
    }

    private KvCache Track(KvCache cache)
    {
        _caches.Add(cache);
        return cache;
    }

    private void Free()
    {
        foreach (var c in _caches) c.Dispose();
        _caches.Clear();
        foreach (var state in _states.Values) state.Dispose();
        _states.Clear();
    }

    public void Dispose()
    {
        lock (_lock)
        {
            Free();
            _ledger.Clear();
        }
    }
}
