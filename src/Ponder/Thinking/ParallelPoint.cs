namespace Ponder.Thinking;

/// <summary>Parallel scaling: k independent samples per problem at the policy's own thinking length.</summary>
/// <param name="K">Samples per problem.</param>
/// <param name="PassAtK">Unbiased pass@k: accuracy when an exact verifier picks among the k samples.</param>
/// <param name="MajorityAtK">Majority vote over the k answers, no verifier; null for countdown, where every final answer names the
/// target, so a vote over answers would only take the first sample that names it (its verdict, not a majority's). There the
/// parallel curve is <paramref name="PassAtK"/>: the verifier picks.</param>
/// <param name="MeanGeneratedTokens">k × the mean tokens of one sample: the same x axis as <see cref="BudgetPoint.MeanGeneratedTokens"/>.</param>
/// <param name="MeanComputeTokens">k × the mean prefill + decode tokens one sample cost (its prompt's prefill included), as
/// <see cref="BudgetPoint.MeanComputeTokens"/> counts them.</param>
public sealed record ParallelPoint(int K, double PassAtK, double? MajorityAtK, double MeanGeneratedTokens, double MeanComputeTokens);
