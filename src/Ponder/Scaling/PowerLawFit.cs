namespace Ponder.Scaling;

/// <summary>
/// y ≈ <see cref="Coefficient"/> · x^<see cref="Exponent"/>, fitted by least squares on (ln x, ln y); for error rate
/// against compute the exponent is negative when more compute helps. <see cref="RSquared"/> is measured in log space.
/// </summary>
public sealed record PowerLawFit(double Coefficient, double Exponent, double RSquared, int Points)
{
    /// <summary>Fits the points with x &gt; 0 and y &gt; 0 (others cannot be logged and are skipped); NaNs when fewer than two remain or all x are equal.</summary>
    public static PowerLawFit Fit(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (x.Count != y.Count) throw new ArgumentException($"{x.Count} x values but {y.Count} y values");
        var points = Enumerable.Range(0, x.Count).Where(i => x[i] > 0 && y[i] > 0 && double.IsFinite(x[i]) && double.IsFinite(y[i]))
            .Select(i => (X: Math.Log(x[i]), Y: Math.Log(y[i]))).ToList();
        int n = points.Count;
        if (n < 2) return new PowerLawFit(double.NaN, double.NaN, double.NaN, n);
        double mx = points.Average(p => p.X), my = points.Average(p => p.Y);
        double sxx = points.Sum(p => (p.X - mx) * (p.X - mx)), sxy = points.Sum(p => (p.X - mx) * (p.Y - my));
        if (sxx == 0) return new PowerLawFit(double.NaN, double.NaN, double.NaN, n);
        double slope = sxy / sxx, intercept = my - slope * mx;
        double ssRes = points.Sum(p => Math.Pow(p.Y - (intercept + slope * p.X), 2)), ssTot = points.Sum(p => (p.Y - my) * (p.Y - my));
        double r2 = ssTot == 0 ? 1 : 1 - ssRes / ssTot;
        return new PowerLawFit(Math.Exp(intercept), slope, r2, n);
    }

    public double At(double x) => Coefficient * Math.Pow(x, Exponent);
}
