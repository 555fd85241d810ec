using Ponder.Policy;
using Ponder.Rewards;
using Ponder.Scaling;
using Ponder.Tasks;

namespace Ponder.Serving;

/// <summary>
/// Self-consistency: samples <see cref="Samples"/> completions in one call, reads each one's final answer and
/// returns the first completion that states the winning answer. Without a process reward model every answer
/// has one vote (majority); with one, each vote weighs the PRM's aggregated score of its steps.
/// When no completion states an answer, the first is returned with a null answer.
/// </summary>
public sealed class VoteReasoner : IReasoner
{
    private readonly IProcessReward? _prm;
    private readonly Aggregation _aggregation;

    /// <param name="samples">Completions sampled per prompt (at least 1).</param>
    /// <param name="prm">Weights votes by step scores when given.</param>
    /// <param name="aggregation">How the PRM's step scores become one weight.</param>
    public VoteReasoner(int samples, IProcessReward? prm = null, Aggregation aggregation = Aggregation.Min)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(samples);
        (Samples, _prm, _aggregation) = (samples, prm, aggregation);
    }

    public int Samples { get; }

    public async Task<Reasoning> ReasonAsync(ICompletionPolicy policy, string prompt, SamplingOptions options, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(policy);
        var batch = await policy.CompleteAsync(prompt, Samples, options, cancellation).ConfigureAwait(false);
        var answers = batch.Choices.Select(c => Answers.Read(c.Text)).ToArray();
        string? winner = _prm is null ? Vote.Majority(answers) : Vote.Weighted(answers.Zip(Weights(prompt, batch.Choices)));
        int chosen = winner is null ? 0 : Array.IndexOf(answers, winner);
        return new Reasoning(batch.Choices[chosen], winner, batch.Choices, batch.PromptTokens, batch.CompletionTokens);
    }

    private IEnumerable<double> Weights(string prompt, IReadOnlyList<Completion> choices)
    {
        var problem = new Problem("served", prompt, "");
        var steps = choices.Select(c => StepText.Steps(c.Text, int.MaxValue)).ToArray();   // the steps as a PRM reads them
        var scores = _prm!.ScoreSteps(Enumerable.Repeat(problem, choices.Count).ToArray(), steps);
        return scores.Select(s => StepScores.Aggregate(s, _aggregation));
    }
}
