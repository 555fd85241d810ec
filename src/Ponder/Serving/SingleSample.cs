using Ponder.Policy;

namespace Ponder.Serving;

/// <summary>The least effort: one completion, returned as sampled (greedy at temperature 0).</summary>
public sealed class SingleSample : IReasoner
{
    public async Task<Reasoning> ReasonAsync(ICompletionPolicy policy, string prompt, SamplingOptions options, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(policy);
        var batch = await policy.CompleteAsync(prompt, 1, options, cancellation).ConfigureAwait(false);
        var chosen = batch.Choices[0];
        return new Reasoning(chosen, Answers.Read(chosen.Text), batch.Choices, batch.PromptTokens, batch.CompletionTokens);
    }
}
