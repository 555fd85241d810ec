namespace Ponder.Rewards;

/// <summary>Labelled solutions and the header that says how they were made.</summary>
public sealed record LabelSet(LabelHeader Header, IReadOnlyList<LabeledSolution> Solutions);
