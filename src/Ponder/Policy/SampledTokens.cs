using static TorchSharp.torch;

namespace Ponder.Policy;

/// <summary>One sampled token per row, with its log-probabilities under two distributions.</summary>
/// <param name="Tokens">(B) int64 token ids.</param>
/// <param name="LogProbs">(B) fp32 log-probability under the plain model distribution, log_softmax(raw logits):
/// what RL losses and the reported <see cref="Generation.LogProbs"/> use.</param>
/// <param name="SamplingLogProbs">(B) fp32 log-probability under the distribution actually sampled from
/// (after temperature, top-k and top-p); 0 for greedy decoding, which is deterministic.</param>
public sealed record SampledTokens(Tensor Tokens, Tensor LogProbs, Tensor SamplingLogProbs);
