namespace Ponder.Thinking;

/// <summary>
/// The sentences under the thinking-budget table: where accuracy peaks and what larger budgets do, over which budgets it
/// rises, and what forcing changes. Each claim is checked against the curve it describes: larger budgets are called
/// unused only when no completion reaches their cap, and a curve with no <see cref="BudgetRise"/> is said never to rise
/// only when no budget is <see cref="BudgetRise.MinGain"/> above a smaller one.
/// </summary>
internal static class BudgetVerdict
{
    /// <summary>The paragraph for the hard-cap curve <paramref name="cap"/> and the forced curve at the same budgets.</summary>
    public static string Text(IReadOnlyList<BudgetPoint> cap, IReadOnlyList<BudgetPoint> forced)
    {
        ArgumentNullException.ThrowIfNull(cap);
        ArgumentNullException.ThrowIfNull(forced);
        double forcedGain = forced.Zip(cap, (f, c) => f.Accuracy - c.Accuracy).Average();
        return Peak(cap) + Rise(cap) + $" Forcing changes accuracy by {forcedGain * 100:+0.0;-0.0} points on average over the budgets.";
    }

    /// <summary>Where accuracy is highest, and whether larger budgets lower it, leave it level while in use, or go unused.</summary>
    private static string Peak(IReadOnlyList<BudgetPoint> cap)
    {
        var peak = cap.MaxBy(p => p.Accuracy)!;
        var later = cap.Where(p => p.Budget > peak.Budget).ToList();
        if (peak.Accuracy == 0) return "No budget solves any held-out problem: the policy is too weak for the sweep to say anything.";
        if (later.Count == 0) return $"Accuracy is highest at the largest budget ({peak.Budget}): longer thinking still helps within this range.";
        var lowest = later.MinBy(p => p.Accuracy)!;
        if (!BudgetRise.Reaches(lowest.Accuracy, peak.Accuracy - BudgetRise.Slack))
            return $"Accuracy peaks at {peak.Budget} thinking tokens ({peak.Accuracy:P1}) and falls beyond it (lowest {lowest.Accuracy:P1}): longer thinking hurts there.";
        string stops = $"Accuracy stops rising at {peak.Budget} thinking tokens ({peak.Accuracy:P1})";
        var used = later.MaxBy(p => p.CappedFraction)!;
        return used.CappedFraction == 0
            ? $"{stops}; larger budgets go unused: no completion reaches their cap (the policy closes its thinking earlier, " +
              $"{later[^1].MeanThinkingTokens:F1} thinking tokens on average at {later[^1].Budget})."
            : $"{stops}, though larger budgets are used: at {used.Budget}, {used.CappedFraction:P0} of completions think to the cap " +
              $"({used.MeanThinkingTokens:F1} thinking tokens on average).";
    }

    /// <summary>The <see cref="BudgetRise"/> of the curve; without one, its largest rise between two budgets and the fall that broke it.</summary>
    private static string Rise(IReadOnlyList<BudgetPoint> cap)
    {
        if (BudgetRise.Of(cap) is { } rise)
            return $" Accuracy rises from {cap.Single(p => p.Budget == rise.Low).Accuracy:P1} at {rise.Low} to {cap.Single(p => p.Budget == rise.High).Accuracy:P1} " +
                   $"at {rise.High} thinking tokens, a {rise.Ratio:0.#}× range of budgets.";
        var (low, high) = LargestRise(cap);
        if (!BudgetRise.Reaches(cap[high].Accuracy - cap[low].Accuracy, BudgetRise.MinGain))
            return $" Accuracy never rises by {BudgetRise.MinGain * 100:0} points from one budget to a larger one.";
        string text = $" Accuracy rises from {cap[low].Accuracy:P1} at {cap[low].Budget} to {cap[high].Accuracy:P1} at {cap[high].Budget} thinking tokens";
        int fall = FirstFall(cap);
        if (fall < 0 || fall + 1 > high) return text + ".";
        string drop = $"from {cap[fall].Accuracy:P1} at {cap[fall].Budget} to {cap[fall + 1].Accuracy:P1} at {cap[fall + 1].Budget}";
        return fall + 1 <= low ? $"{text}, after falling {drop}." : $"{text}, with a fall {drop} on the way.";
    }

    /// <summary>Indices i &lt; j with the largest accuracy gain from budget i to budget j (the first such pair); (0, 0) for one point.</summary>
    private static (int Low, int High) LargestRise(IReadOnlyList<BudgetPoint> cap)
    {
        var (low, high) = (0, 0);
        for (int i = 0; i < cap.Count; i++)
            for (int j = i + 1; j < cap.Count; j++)
                if (cap[j].Accuracy - cap[i].Accuracy > cap[high].Accuracy - cap[low].Accuracy) (low, high) = (i, j);
        return (low, high);
    }

    /// <summary>The first i where accuracy falls by more than <see cref="BudgetRise.Slack"/> from budget i to budget i + 1; -1 for none.</summary>
    private static int FirstFall(IReadOnlyList<BudgetPoint> cap)
    {
        for (int i = 0; i + 1 < cap.Count; i++)
            if (!BudgetRise.Reaches(cap[i + 1].Accuracy, cap[i].Accuracy - BudgetRise.Slack)) return i;
        return -1;
    }
}
