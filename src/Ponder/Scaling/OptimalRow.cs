namespace Ponder.Scaling;

/// <summary>
/// Compute-optimal at one FLOPs budget: the setting chosen on the validation split, its test accuracy, and the best
/// single arm's test accuracy within the same budget.
/// </summary>
/// <param name="AtLeastAsGood">Chosen mean ≥ best single mean − √(spread² + best spread²) (within the seeds' spread).</param>
public sealed record OptimalRow(double Budget, string Chosen, int N, double Flops, double Accuracy, double Spread,
    string BestArm, double BestAccuracy, double BestSpread, bool AtLeastAsGood);
