namespace Ponder.Search;

/// <summary>A finished node with the reward scores a search gathered for it (empty/NaN when not scored).</summary>
internal sealed record Scored(StepNode Node, IReadOnlyList<double> StepScores, double Outcome = double.NaN);
