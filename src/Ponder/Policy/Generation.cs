namespace Ponder.Policy;

/// <summary>One row's continuation.</summary>
/// <param name="Tokens">Generated token ids, in order; includes the stop string's tokens and a final EOS.</param>
/// <param name="LogProbs">Log-probability of each token under the plain model distribution (log_softmax of
/// the raw logits, no temperature or filtering): what policy-gradient losses need. Same length as Tokens.</param>
/// <param name="Text">Decoded text of <paramref name="Tokens"/> (special tokens such as EOS skipped).</param>
/// <param name="FinishReason">Why the row ended.</param>
/// <param name="StopString">The stop string its text ended with, when <paramref name="FinishReason"/> is Stop.</param>
public sealed record Generation(int[] Tokens, float[] LogProbs, string Text, FinishReason FinishReason, string? StopString)
{
    /// <summary>
    /// When asked for, the most likely tokens at each generated position with their log-probabilities under the plain
    /// model distribution, most likely first (OpenAI's <c>top_logprobs</c>); null otherwise. Same length as Tokens.
    /// </summary>
    public IReadOnlyList<TokenLogProb[]>? TopLogProbs { get; init; }
}

/// <summary>A token id and its log-probability.</summary>
public readonly record struct TokenLogProb(int Token, float LogProb);
