using Ponder.Tasks;

namespace Ponder.Search;

/// <summary>A way to spend test-time compute on one problem. One file per strategy; <see cref="Strategies.Create"/> picks one.</summary>
public interface ISearchStrategy
{
    StrategyKind Kind { get; }

    SearchSettings Settings { get; }

    /// <summary>
    /// Throws <see cref="ArgumentException"/> when this strategy cannot run with <paramref name="budget"/> and
    /// <paramref name="context"/> (budget too small, a needed reward model missing). Runs nothing.
    /// </summary>
    void Check(SearchContext context, Budget budget);

    /// <summary>Checks, then searches: the chosen finished solution, every candidate with its scores, the compute used.</summary>
    SearchResult Solve(Problem problem, SearchContext context, Budget budget);
}
