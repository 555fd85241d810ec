namespace Ponder.Thinking;

/// <summary>
/// Over which range of thinking budgets accuracy keeps rising: the widest pair of budgets (low, high) whose accuracy rises by at
/// least <c>minGain</c> from low to high and never falls by more than <c>slack</c> from one budget to the next in between.
/// </summary>
/// <param name="Low">Budget where the rise starts.</param>
/// <param name="High">Budget where it ends.</param>
/// <param name="Gain">Accuracy at <paramref name="High"/> less accuracy at <paramref name="Low"/>.</param>
public sealed record BudgetRise(int Low, int High, double Gain)
{
    /// <summary>High / low: 4 means accuracy rises over a 4× range of budgets.</summary>
    public double Ratio => Low > 0 ? High / (double)Low : double.PositiveInfinity;

    /// <summary>The widest rising range of a budget curve (sorted by budget), or null when accuracy never rises by <paramref name="minGain"/>.</summary>
    /// <example>Accuracies 0.05, 0.20, 0.30, 0.29 at budgets 16, 32, 64, 128 give (16, 128, +0.24): the last step falls by less than the slack.</example>
    public static BudgetRise? Of(IReadOnlyList<BudgetPoint> curve, double minGain = 0.05, double slack = 0.02)
    {
        ArgumentNullException.ThrowIfNull(curve);
        BudgetRise? best = null;
        for (int i = 0; i < curve.Count; i++)
        {
            for (int j = i + 1; j < curve.Count; j++)
            {
                if (curve[j].Accuracy < curve[j - 1].Accuracy - slack) break;
                double gain = curve[j].Accuracy - curve[i].Accuracy;
                var rise = new BudgetRise(curve[i].Budget, curve[j].Budget, gain);
                if (gain >= minGain && (best is null || rise.Ratio > best.Ratio || (rise.Ratio == best.Ratio && gain > best.Gain))) best = rise;
            }
        }
        return best;
    }
}
