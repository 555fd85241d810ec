using Ponder.Rewards;
using Ponder.Tasks;

namespace Ponder.Search;

/// <summary>
/// What a strategy may use: the policy, a parser for final answers, optional reward models, and a seed. The
/// reference answer is not reachable from here: a strategy sees answers only as parsed text.
/// </summary>
/// <param name="Policy">Samples, expands and finishes solutions.</param>
/// <param name="AnswerOf">The final answer a completion states (null when none), e.g. from <see cref="ITask.Check"/>.</param>
public sealed record SearchContext(ISearchPolicy Policy, Func<Problem, string, string?> AnswerOf)
{
    /// <summary>Process reward: needed by beam search, DVTS, MCTS with PRM leaves, and the PRM selectors.</summary>
    public IProcessReward? Prm { get; init; }

    /// <summary>Outcome reward: needed by the ORM selectors.</summary>
    public IOutcomeReward? Orm { get; init; }

    /// <summary>A verifier that needs no reference answer (countdown); null for tasks that would need it (arith, jsonl).</summary>
    public IOutcomeReward? Verifier { get; init; }

    /// <summary>A reviser (trained by <c>Learning.RevisionTrainer</c>, same shape as the policy): needed by sequential revision.</summary>
    public ISearchPolicy? Reviser { get; init; }

    /// <summary>Seeds every sample of the search: same seed, same result.</summary>
    public long Seed { get; init; }

    /// <summary>
    /// Turns shared with other users of the machine's cores (a server's decode batch, <see cref="Policy.ModelTurns"/>):
    /// each reward call takes one, as each policy step of a generator with those turns does; null: none.
    /// </summary>
    public Policy.ModelTurns? RewardTurns { get; init; }

    /// <summary>Stops the search part-way (<see cref="OperationCanceledException"/> at its next policy step or reward call), e.g. when a client leaves.</summary>
    public CancellationToken Cancellation { get; init; }

    /// <summary>A fresh meter for one search, carrying <see cref="Cancellation"/> to the policy and reward calls it is charged by.</summary>
    public ComputeMeter NewMeter() => new(Policy.Flops, Cancellation);

    /// <summary>
    /// A context on a task: answers parsed by the task's checker; the task's own verifier is offered as
    /// <see cref="Verifier"/> only where it checks from the prompt alone (countdown).
    /// </summary>
    public static SearchContext For(ITask task, ISearchPolicy policy, IProcessReward? prm = null, IOutcomeReward? orm = null, long seed = 0)
    {
        ArgumentNullException.ThrowIfNull(task);
        return new SearchContext(policy, (p, text) => task.Check(p, text).Answer)
        {
            Prm = prm,
            Orm = orm,
            Verifier = task is CountdownTask ? new VerifierReward(task) : null,
            Seed = seed,
        };
    }
}
