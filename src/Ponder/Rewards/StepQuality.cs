namespace Ponder.Rewards;

/// <summary>How well one reward model's step scores match gold step labels.</summary>
/// <param name="Steps">Step prefixes scored.</param>
/// <param name="Solutions">Solutions they belong to.</param>
/// <param name="Auc">Step-level ROC AUC against gold labels.</param>
/// <param name="Ece">Expected calibration error of the step probabilities (10 equal-width bins).</param>
/// <param name="FirstErrorAccuracy">On solutions with a wrong step: share whose first wrong step is found exactly.</param>
/// <param name="NoErrorAccuracy">On solutions with no wrong step: share where no step is flagged.</param>
/// <param name="FirstErrorF1">Harmonic mean of the two (ProcessBench).</param>
/// <param name="Threshold">A step is flagged wrong when its probability is below this.</param>
/// <param name="Reliability">The reliability diagram's bins.</param>
public sealed record StepQuality(int Steps, int Solutions, double Auc, double Ece, double FirstErrorAccuracy, double NoErrorAccuracy,
    double FirstErrorF1, double Threshold, IReadOnlyList<Classification.Bin> Reliability)
{
    /// <summary>Measures <paramref name="scores"/>[i][j] against <paramref name="gold"/>[i][j] (1 = steps 0..j all right).</summary>
    public static StepQuality Measure(IReadOnlyList<IReadOnlyList<double>> scores, IReadOnlyList<IReadOnlyList<double>> gold, double threshold)
    {
        var pairs = scores.Zip(gold).Where(p => p.First.Count > 0).ToList();
        var flatScores = pairs.SelectMany(p => p.First).ToList();
        var flatGold = pairs.SelectMany(p => p.Second.Select(g => g > 0.5)).ToList();
        var truth = pairs.Select(p => p.Second.ToList().FindIndex(g => g < 0.5)).ToList();
        var predicted = pairs.Select(p => Classification.FirstBelow(p.First, threshold)).ToList();
        var (errAcc, noErrAcc, f1) = Classification.FirstError(truth, predicted);
        return new StepQuality(flatScores.Count, pairs.Count, Classification.RocAuc(flatScores, flatGold),
            Classification.ExpectedCalibrationError(flatScores, flatGold), errAcc, noErrAcc, f1, threshold,
            Classification.Reliability(flatScores, flatGold));
    }
}
