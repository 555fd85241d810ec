namespace Ponder.Thinking;

/// <summary>Token lengths of one trace style's gold completions over a set of problems.</summary>
/// <param name="Dropped">Problems without a trace (search failed within the expansion bound and the fallback drops them).</param>
/// <param name="FellBack">Problems whose search failed within the bound and that got the optimal trace instead.</param>
/// <param name="MeanTokens">Mean completion tokens (thinking section, answer and EOS) of the kept problems.</param>
/// <param name="MaxTokens">Longest completion in tokens.</param>
/// <param name="MeanThinkingTokens">Mean tokens between the markers.</param>
public sealed record TraceLengthRow(TraceStyle Style, int Problems, int Dropped, int FellBack, double MeanTokens, int MaxTokens,
    double MeanThinkingTokens, double MeanExpansions, double MeanDeadEnds, double MeanBacktracks);
