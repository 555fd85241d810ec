namespace Ponder.Scaling;

/// <summary>
/// Compute-optimal per difficulty bin at one FLOPs budget on test, next to unbinned compute-optimal and the best single
/// arm within the same budget. Accuracies are means over search seeds, spreads their standard deviation.
/// </summary>
/// <param name="Picks">Per bin (hardest first), the setting it ran most often on test.</param>
/// <param name="Flops">Mean FLOPs per problem spent, the difficulty estimate included.</param>
/// <param name="EstimateFlops">Mean FLOPs per problem of the difficulty estimate alone.</param>
public sealed record BinnedRow(double Budget, string Picks, double Flops, double EstimateFlops, double Accuracy, double Spread,
    string Unbinned, double UnbinnedFlops, double UnbinnedAccuracy, double UnbinnedSpread, string BestArm, double BestAccuracy, double BestSpread);
