using Ponder.Policy;

namespace Ponder.Serving;

/// <summary>
/// Spends test-time compute on one prompt through any <see cref="ICompletionPolicy"/> (a remote endpoint included) and
/// returns one completion: sampling and voting. The server's <c>reasoning_effort</c> runs the full search strategies
/// on its own model instead (<see cref="SearchReasoner"/>).
/// </summary>
public interface IReasoner
{
    /// <summary>Reasons about <paramref name="prompt"/> with <paramref name="policy"/>; <paramref name="options"/> sets sampling, length, stops and seed.</summary>
    Task<Reasoning> ReasonAsync(ICompletionPolicy policy, string prompt, SamplingOptions options, CancellationToken cancellation = default);
}
