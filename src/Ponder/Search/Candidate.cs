namespace Ponder.Search;

/// <summary>One finished trajectory a search considered, with what it was judged by.</summary>
/// <param name="Completion">The text after the prompt.</param>
/// <param name="Answer">Its parsed final answer; null when it has none.</param>
/// <param name="Score">The selector's score (vote share, aggregated PRM score, ORM or verifier score).</param>
/// <param name="StepScores">PRM score of each step prefix; empty when no PRM scored it.</param>
public sealed record Candidate(string Completion, string? Answer, double Score, IReadOnlyList<double> StepScores);
