namespace Ponder.Search;

/// <summary>
/// The policy, opened on one problem for one search: it samples whole solutions, expands partial ones by one
/// step (a line), and finishes them, charging every token to the search's <see cref="ComputeMeter"/>. Nodes from
/// one session continue their own prefix without recomputing it. Disposing frees every cached state.
/// </summary>
public interface ISearchSession : IDisposable
{
    /// <summary>The prompt alone (no step yet).</summary>
    StepNode Root { get; }

    /// <summary><paramref name="n"/> whole solutions sampled independently from the prompt (all finished).</summary>
    IReadOnlyList<StepNode> Sample(int n, double temperature, long seed);

    /// <summary>For each unfinished node, <paramref name="perNode"/> sampled next steps as child nodes (in one batch where the session can).</summary>
    IReadOnlyList<IReadOnlyList<StepNode>> Expand(IReadOnlyList<StepNode> nodes, int perNode, double temperature, long seed);

    /// <summary>Each node completed by sampling to the end; finished nodes come back as they are.</summary>
    IReadOnlyList<StepNode> Finish(IReadOnlyList<StepNode> nodes, double temperature, long seed);
}
