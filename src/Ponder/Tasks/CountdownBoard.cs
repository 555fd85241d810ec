namespace Ponder.Tasks;

/// <summary>
/// The numbers available while a countdown solution is played: the unused inputs plus the results of
/// earlier steps, each usable once.
/// </summary>
internal sealed class CountdownBoard
{
    private readonly List<long> _available;

    public CountdownBoard(IEnumerable<long> inputs) => _available = [.. inputs];

    public IReadOnlyList<long> Available => _available;

    /// <summary>Result of the last step played; null before the first.</summary>
    public long? LastResult { get; private set; }

    /// <summary>Plays one step: null when it is valid (its operands are consumed and its result becomes available), else why not.</summary>
    public string? Play(StepLine step)
    {
        int countA = _available.Count(n => n == step.A);
        if (countA == 0)
        {
            return $"{step.A} is not available";
        }
        if (step.B == step.A ? countA < 2 : !_available.Contains(step.B))
        {
            return $"{step.B} is not available";
        }
        if (CountdownRules.Combine(step.A, step.Op, step.B, out long value) is { } broken)
        {
            return broken;
        }
        if (value != step.C)
        {
            return $"{step.A}{step.Op}{step.B} is {value}, not {step.C}";
        }
        _available.Remove(step.A);
        _available.Remove(step.B);
        _available.Add(step.C);
        LastResult = step.C;
        return null;
    }
}
