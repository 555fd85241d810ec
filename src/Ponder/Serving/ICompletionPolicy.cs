using Ponder.Policy;

namespace Ponder.Serving;

/// <summary>
/// A policy seen through text: a prompt in, sampled completions out. <see cref="LocalPolicy"/> runs a Ponder
/// model; <see cref="RemotePolicy"/> asks any OpenAI-compatible endpoint, so voting and best-of-N run on models
/// Ponder does not host. The prompt is the text the model continues (for built-in tasks: the problem and a newline).
/// </summary>
public interface ICompletionPolicy
{
    /// <summary><paramref name="n"/> completions of <paramref name="prompt"/>; the same seed and options give the same completions.</summary>
    Task<CompletionBatch> CompleteAsync(string prompt, int n, SamplingOptions options, CancellationToken cancellation = default);
}
