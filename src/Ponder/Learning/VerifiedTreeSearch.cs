using Ponder.Rewards;
using Ponder.Search;
using Ponder.Tasks;

namespace Ponder.Learning;

/// <summary>
/// MCTS over steps as learning uses it: the current policy proposes steps, and every leaf is valued by a rollout the
/// task's verifier scores (1 when its final answer is right, else 0), so a node's mean value is the fraction of
/// simulations through it that ended right. Expert iteration distills the verified solutions a tree finds ("search
/// then distill"); DPO reads step-level pairs from its sibling steps.
/// </summary>
public sealed class VerifiedTreeSearch
{
    private readonly Mcts _mcts;
    private readonly GeneratorPolicy _policy;
    private readonly ITask _task;
    private readonly VerifierReward _verifier;

    /// <param name="generator">The policy that proposes steps and rolls out.</param>
    /// <param name="maxNewTokens">Most tokens a solution may have.</param>
    /// <param name="expansions">Next steps sampled where the tree expands a node.</param>
    public VerifiedTreeSearch(Policy.Generator generator, ITask task, int maxNewTokens, int expansions, double temperature)
    {
        ArgumentNullException.ThrowIfNull(generator);
        _task = task ?? throw new ArgumentNullException(nameof(task));
        _policy = new GeneratorPolicy(generator, new SearchLimits { MaxNewTokens = maxNewTokens, MaxStepTokens = Math.Min(new SearchLimits().MaxStepTokens, maxNewTokens) });
        _mcts = new Mcts(new SearchSettings { Temperature = temperature, Expansions = expansions, LeafValue = LeafValue.Rollout });
        _verifier = new VerifierReward(task);
    }

    /// <summary>The tree of <paramref name="simulations"/> simulations for <paramref name="problem"/>, seeded.</summary>
    public Exploration Explore(Problem problem, int simulations, long seed) =>
        _mcts.Explore(problem, SearchContext.For(_task, _policy, orm: _verifier, seed: seed), Budget.Samples(simulations));
}
