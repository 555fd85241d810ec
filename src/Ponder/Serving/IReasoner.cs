using Ponder.Policy;

namespace Ponder.Serving;

/// <summary>
/// Spends test-time compute on one prompt and returns one completion: what <c>reasoning_effort</c> selects.
/// The seam where the search strategies plug in; the built-in ones sample and vote.
/// </summary>
public interface IReasoner
{
    /// <summary>Reasons about <paramref name="prompt"/> with <paramref name="policy"/>; <paramref name="options"/> sets sampling, length, stops and seed.</summary>
    Task<Reasoning> ReasonAsync(ICompletionPolicy policy, string prompt, SamplingOptions options, CancellationToken cancellation = default);
}
