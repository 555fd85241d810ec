namespace Ponder.Search;

/// <summary>
/// An expanded node of a search tree, as learning reads it: the partial solution (<paramref name="Prefix"/>, steps
/// ending in a newline; empty at the root) and the distinct next steps the policy proposed there, each with how often
/// the search went through it and the mean value it found (with a verifier as the outcome reward: the fraction of
/// simulations through it that ended correct). Step-level preference pairs are siblings of different value.
/// <paramref name="PrefixTokens"/>: the token ids the policy sampled for the prefix, where the session keeps them.
/// </summary>
public sealed record TreeBranch(string Prefix, IReadOnlyList<int>? PrefixTokens, IReadOnlyList<TreeChild> Children);

/// <summary>
/// A next step of a <see cref="TreeBranch"/>: its text (after the prefix), whether it finishes the solution, its visits
/// and mean value, and the token ids sampled for it (EOS included where it ended there; null where the session keeps none).
/// </summary>
public readonly record struct TreeChild(string Step, bool Finished, int Visits, double Mean, IReadOnlyList<int>? Tokens = null);

/// <summary>What <see cref="Mcts.Explore"/> found: the search's result and every branch of its tree.</summary>
public sealed record Exploration(SearchResult Result, IReadOnlyList<TreeBranch> Branches);
