namespace Ponder.Scaling;

/// <summary>One line of a plot: a name and its points, with optional error bars.</summary>
public sealed record Series(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y, IReadOnlyList<double>? Error = null);
