namespace Ponder.Thinking;

/// <summary>Accuracy of one policy at one thinking budget.</summary>
/// <param name="Budget">Thinking-token cap.</param>
/// <param name="Forced">Budget forcing on (early closes replaced by the cue up to the cap).</param>
/// <param name="Accuracy">Fraction of problems whose answer verifies.</param>
/// <param name="MeanThinkingTokens">Tokens inside the thinking section, per problem.</param>
/// <param name="MeanGeneratedTokens">Everything written after the prompt per problem (open marker, thinking, cues, close, answer): the x axis of sequential scaling.</param>
/// <param name="MeanComputeTokens">Prefill + decode tokens the generator ran per problem, re-prefills of forced rows included.</param>
/// <param name="CappedFraction">Problems whose thinking the controller closed at the cap.</param>
/// <param name="MeanForcings">Cues inserted per problem.</param>
public sealed record BudgetPoint(int Budget, bool Forced, double Accuracy, double MeanThinkingTokens, double MeanGeneratedTokens,
    double MeanComputeTokens, double CappedFraction, double MeanForcings);
