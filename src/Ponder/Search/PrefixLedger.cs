namespace Ponder.Search;

/// <summary>
/// What a prefix-cached PRM remembers of the problem it is scoring: the score of every step prefix it has scored,
/// and a state at the end of every solution it has run (a KV-cache row, or just its length), keyed by the steps.
/// The empty key is the prompt alone. <see cref="Enter"/> with another scope (search) or prompt forgets everything.
/// </summary>
internal sealed class PrefixLedger<TState>
{
    private readonly Dictionary<string, double> _scores = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TState> _ends = new(StringComparer.Ordinal);
    private string? _prompt;
    private object? _scope;

    /// <summary>Starts scoring <paramref name="prompt"/> for <paramref name="scope"/>; true when that cleared what was kept.</summary>
    public bool Enter(object scope, string prompt)
    {
        if (ReferenceEquals(_scope, scope) && _prompt == prompt) return false;
        bool cleared = _scope is not null;
        Clear();
        (_scope, _prompt) = (scope, prompt);
        return cleared;
    }

    public void Clear()
    {
        _scores.Clear();
        _ends.Clear();
        (_scope, _prompt) = (null, null);
    }

    /// <summary>The key of the first <paramref name="count"/> steps (steps hold no newline).</summary>
    public static string Key(IReadOnlyList<string> steps, int count) => string.Join('\n', steps.Take(count));

    /// <summary>Scores of every prefix of <paramref name="steps"/> when all are known; null otherwise.</summary>
    public double[]? Known(IReadOnlyList<string> steps)
    {
        var scores = new double[steps.Count];
        for (int j = 0; j < steps.Count; j++)
            if (!_scores.TryGetValue(Key(steps, j + 1), out scores[j])) return null;
        return scores;
    }

    /// <summary>The most steps k ≤ steps.Count whose prefix has a state (k = 0: the prompt), with that state; null when none has.</summary>
    public (int Steps, TState State)? Longest(IReadOnlyList<string> steps)
    {
        for (int k = steps.Count; k >= 0; k--)
            if (_ends.TryGetValue(Key(steps, k), out var state)) return (k, state);
        return null;
    }

    /// <summary>Remembers the state at the end of <paramref name="steps"/> (of the prompt when empty).</summary>
    public void End(IReadOnlyList<string> steps, TState state) => _ends[Key(steps, steps.Count)] = state;

    /// <summary>Remembers the score of every prefix of <paramref name="steps"/>.</summary>
    public void Scores(IReadOnlyList<string> steps, IReadOnlyList<double> scores)
    {
        for (int j = 0; j < scores.Count; j++) _scores[Key(steps, j + 1)] = scores[j];
    }
}
