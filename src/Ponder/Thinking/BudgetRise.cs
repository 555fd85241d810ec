namespace Ponder.Thinking;

/// <summary>
/// Over which range of thinking budgets accuracy rises: from the smallest budget, as long as accuracy never falls by more than
/// <c>slack</c> from one budget to the next, <see cref="High"/> is the first budget within <c>slack</c> of the best accuracy of
/// that run (where the rise saturates) and <see cref="Low"/> the last budget before it at the run's lowest accuracy.
/// </summary>
/// <param name="Low">Budget where the rise starts.</param>
/// <param name="High">Budget where it saturates.</param>
/// <param name="Gain">Accuracy at <paramref name="High"/> less accuracy at <paramref name="Low"/>.</param>
public sealed record BudgetRise(int Low, int High, double Gain)
{
    /// <summary>Default smallest gain that counts as a rise: 5 points of accuracy.</summary>
    public const double MinGain = 0.05;

    /// <summary>Default fall (or shortfall from the peak) that accuracy may show within a rise: 2 points.</summary>
    public const double Slack = 0.02;

    /// <summary>
    /// Rounding allowed in those comparisons: accuracies are fractions of problems, and 70/200 − 60/200 is 0.04999… in
    /// floating point, which a table prints as the 5 points it is.
    /// </summary>
    public const double Tolerance = 1e-9;

    /// <summary>Whether <paramref name="value"/> is at least <paramref name="bound"/>, to within <see cref="Tolerance"/>.</summary>
    internal static bool Reaches(double value, double bound) => value >= bound - Tolerance;

    /// <summary>High / low: 4 means accuracy rises over a 4× range of budgets.</summary>
    public double Ratio => Low > 0 ? High / (double)Low : double.PositiveInfinity;

    /// <summary>The rise of a budget curve (sorted by budget), or null when accuracy does not rise by <paramref name="minGain"/>.</summary>
    /// <example>
    /// Accuracies 0.05, 0.20, 0.30, 0.29 at budgets 16, 32, 64, 128 give (16, 64, +0.25): 128 adds nothing beyond the slack.
    /// </example>
    public static BudgetRise? Of(IReadOnlyList<BudgetPoint> curve, double minGain = MinGain, double slack = Slack)
    {
        ArgumentNullException.ThrowIfNull(curve);
        if (curve.Count == 0) return null;
        int end = 0;   // the run: indices 0..end, no fall beyond the slack
        while (end + 1 < curve.Count && Reaches(curve[end + 1].Accuracy, curve[end].Accuracy - slack)) end++;
        double peak = curve.Take(end + 1).Max(p => p.Accuracy);
        int high = 0;
        while (!Reaches(curve[high].Accuracy, peak - slack)) high++;
        int low = 0;
        for (int i = 1; i < high; i++)
            if (curve[i].Accuracy <= curve[low].Accuracy) low = i;
        double gain = curve[high].Accuracy - curve[low].Accuracy;
        return Reaches(gain, minGain) ? new BudgetRise(curve[low].Budget, curve[high].Budget, gain) : null;
    }
}
