namespace Ponder.Rewards;

/// <summary>Quality measures of a scorer against binary labels.</summary>
public static class Classification
{
    /// <summary>
    /// ROC AUC: the probability that a random positive scores above a random negative (ties count
    /// half), computed from ranks in O(n log n). NaN when either class is empty.
    /// </summary>
    public static double RocAuc(IReadOnlyList<double> scores, IReadOnlyList<bool> labels)
    {
        if (scores.Count != labels.Count) throw new ArgumentException($"{scores.Count} scores but {labels.Count} labels");
        int n = scores.Count;
        var order = Enumerable.Range(0, n).OrderBy(i => scores[i]).ToArray();
        var ranks = new double[n];
        for (int i = 0; i < n;)
        {
            int j = i;
            while (j + 1 < n && scores[order[j + 1]] == scores[order[i]]) j++;
            double rank = (i + j) / 2.0 + 1;       // average rank of a tie group, 1-based
            for (int t = i; t <= j; t++) ranks[order[t]] = rank;
            i = j + 1;
        }
        long positives = labels.Count(l => l), negatives = n - positives;
        if (positives == 0 || negatives == 0) return double.NaN;
        double rankSum = Enumerable.Range(0, n).Where(i => labels[i]).Sum(i => ranks[i]);
        return (rankSum - positives * (positives + 1) / 2.0) / (positives * (double)negatives);
    }

    /// <summary>One bin of a reliability diagram: mean predicted probability vs observed frequency.</summary>
    public sealed record Bin(double Lower, double Upper, int Count, double MeanPredicted, double Observed);

    /// <summary>Equal-width reliability bins over [0, 1] (empty bins included with Count 0).</summary>
    public static IReadOnlyList<Bin> Reliability(IReadOnlyList<double> probabilities, IReadOnlyList<bool> labels, int bins = 10)
    {
        var result = new List<Bin>(bins);
        for (int b = 0; b < bins; b++)
        {
            double lo = (double)b / bins, hi = (double)(b + 1) / bins;
            var members = Enumerable.Range(0, probabilities.Count)
                .Where(i => probabilities[i] >= lo && (probabilities[i] < hi || (b == bins - 1 && probabilities[i] <= hi))).ToList();
            result.Add(members.Count == 0
                ? new Bin(lo, hi, 0, double.NaN, double.NaN)
                : new Bin(lo, hi, members.Count, members.Average(i => probabilities[i]), members.Average(i => labels[i] ? 1.0 : 0.0)));
        }
        return result;
    }

    /// <summary>Expected calibration error: bin-size-weighted mean |predicted − observed| over the reliability bins.</summary>
    public static double ExpectedCalibrationError(IReadOnlyList<double> probabilities, IReadOnlyList<bool> labels, int bins = 10)
    {
        var reliability = Reliability(probabilities, labels, bins);
        int total = reliability.Sum(b => b.Count);
        return total == 0 ? double.NaN : reliability.Where(b => b.Count > 0).Sum(b => b.Count * Math.Abs(b.MeanPredicted - b.Observed)) / total;
    }

    /// <summary>
    /// ProcessBench-style first-error identification. Each solution has a true first wrong step
    /// (or -1 when every step is right) and a predicted one (the first step scored below the
    /// threshold, or -1). Accuracy is measured separately on erroneous and on correct solutions;
    /// the F1 is their harmonic mean (NaN when either kind of solution is missing).
    /// </summary>
    public static (double ErrorAccuracy, double CorrectAccuracy, double F1) FirstError(IReadOnlyList<int> truth, IReadOnlyList<int> predicted)
    {
        if (truth.Count != predicted.Count) throw new ArgumentException($"{truth.Count} truths but {predicted.Count} predictions");
        var erroneous = Enumerable.Range(0, truth.Count).Where(i => truth[i] >= 0).ToList();
        var correct = Enumerable.Range(0, truth.Count).Where(i => truth[i] < 0).ToList();
        double errAcc = erroneous.Count == 0 ? double.NaN : erroneous.Count(i => predicted[i] == truth[i]) / (double)erroneous.Count;
        double corAcc = correct.Count == 0 ? double.NaN : correct.Count(i => predicted[i] < 0) / (double)correct.Count;
        // NaN when either class is empty (as AUC): a policy whose every solution is right gives no first error to find.
        double f1 = double.IsNaN(errAcc) || double.IsNaN(corAcc) ? double.NaN : errAcc + corAcc > 0 ? 2 * errAcc * corAcc / (errAcc + corAcc) : 0;
        return (errAcc, corAcc, f1);
    }

    /// <summary>Index of the first score below <paramref name="threshold"/>, or -1.</summary>
    public static int FirstBelow(IReadOnlyList<double> scores, double threshold)
    {
        for (int i = 0; i < scores.Count; i++)
            if (scores[i] < threshold) return i;
        return -1;
    }
}
