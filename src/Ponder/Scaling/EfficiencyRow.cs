namespace Ponder.Scaling;

/// <summary>
/// FLOPs an arm needs to reach the reference arm's best accuracy (best-of-N majority), and the ratio
/// reference FLOPs ÷ arm FLOPs (above 1: the arm gets there cheaper). Nulls when the arm never reaches it.
/// </summary>
public sealed record EfficiencyRow(string Arm, double Target, double? Flops, double? Ratio);
