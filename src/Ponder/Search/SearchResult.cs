namespace Ponder.Search;

/// <summary>What a search chose, what it considered, and what it spent.</summary>
/// <param name="Strategy">The strategy that ran (for compute-optimal: the one it picked).</param>
/// <param name="Completion">The chosen finished solution (text after the prompt).</param>
/// <param name="Answer">Its final answer; null when no candidate had one.</param>
/// <param name="Candidates">Every finished trajectory considered, with its scores.</param>
/// <param name="Compute">Everything the search spent: policy tokens, reward-model tokens, FLOPs.</param>
/// <param name="Description">The strategy with its settings, e.g. <c>beam width=4 M=4</c>.</param>
public sealed record SearchResult(StrategyKind Strategy, string Completion, string? Answer, IReadOnlyList<Candidate> Candidates, Compute Compute, string Description);
