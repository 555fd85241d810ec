namespace Ponder.Thinking;

/// <summary>Behaviour read from a policy's thinking sections over a set of problems (see <see cref="ThinkingBehaviour"/>).</summary>
/// <param name="Accuracy">Answers that verify.</param>
/// <param name="MeanThinkingTokens">Tokens between the markers (up to the first close, or to the end when unclosed).</param>
/// <param name="MeanCompletionTokens">Tokens of the whole completion.</param>
/// <param name="DeadEndsPerCompletion">Self-detected errors: <c>no:</c> lines, candidates checked and rejected.</param>
/// <param name="BacktracksPerSolution">Backtracks per correct completion.</param>
/// <param name="RevisedFraction">Correct completions whose thinking rejected at least one candidate before its <c>yes:</c>: the answer changed after a check.</param>
/// <param name="InvalidLineRate">Wrong lines of the trace language (bad arithmetic, unplayable moves, wrong verdicts) per <c>try</c> line.</param>
/// <param name="InvalidBacktrackRate">Backtracks to a state that was not a real earlier state, per backtrack.</param>
/// <param name="ClosedFraction">Completions whose thinking section was closed.</param>
public sealed record BehaviourStats(int Count, double Accuracy, double MeanThinkingTokens, double MeanCompletionTokens, double DeadEndsPerCompletion,
    double BacktracksPerSolution, double RevisedFraction, double InvalidLineRate, double InvalidBacktrackRate, double ClosedFraction);
