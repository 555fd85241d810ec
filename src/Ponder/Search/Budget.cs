using System.Globalization;

namespace Ponder.Search;

/// <summary>
/// How much a search may spend: N (samples/beams), or a number of tokens, or FLOPs. With tokens or FLOPs an
/// anytime strategy (best-of-N, MCTS) stops once the meter reaches the amount; beam search and DVTS first price one
/// sampled solution and take the width the rest of the budget pays for. Parsed from <c>16</c>, <c>4096tok</c>, <c>2e9flops</c>.
/// </summary>
public sealed record Budget(BudgetUnit Unit, double Amount)
{
    /// <summary>The largest samples budget.</summary>
    public const int MaxSamples = 1 << 20;

    /// <summary>The largest tokens budget (2³⁰: a million samples of a thousand tokens).</summary>
    public const double MaxTokens = 1 << 30;

    /// <summary>The largest FLOPs budget (10²¹: 2³⁰ tokens of a 500M-parameter model).</summary>
    public const double MaxFlops = 1e21;

    public static Budget Samples(int n) => new(BudgetUnit.Samples, n);
    public static Budget Tokens(long tokens) => new(BudgetUnit.Tokens, tokens);
    public static Budget Flops(double flops) => new(BudgetUnit.Flops, flops);

    /// <summary>N for a samples budget; throws for the other units.</summary>
    public int N => Unit == BudgetUnit.Samples ? (int)Amount : throw new InvalidOperationException($"budget {this} is not a number of samples");

    /// <summary>True once <paramref name="meter"/> has spent the budget (never for a samples budget).</summary>
    public bool Spent(ComputeMeter meter) => Unit switch
    {
        BudgetUnit.Tokens => meter.Tokens >= Amount,
        BudgetUnit.Flops => meter.Flops >= Amount,
        _ => false,
    };

    /// <summary>What is left of a tokens or FLOPs budget, in its unit.</summary>
    public double Left(ComputeMeter meter) => Unit switch
    {
        BudgetUnit.Tokens => Amount - meter.Tokens,
        BudgetUnit.Flops => Amount - meter.Flops,
        _ => double.PositiveInfinity,
    };

    /// <summary>The amount a compute snapshot spent in this budget's unit (samples budgets have none).</summary>
    public double Measure(Compute compute) => Unit switch
    {
        BudgetUnit.Tokens => compute.Tokens,
        BudgetUnit.Flops => compute.Flops,
        _ => double.NaN,
    };

    /// <summary><c>16</c> (samples), <c>4096tok</c> (tokens), <c>2e9flops</c> (FLOPs); <see cref="ArgumentException"/> otherwise.</summary>
    public static Budget Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string t = text.Trim().ToLowerInvariant();
        (BudgetUnit unit, string number) = t.EndsWith("flops", StringComparison.Ordinal) ? (BudgetUnit.Flops, t[..^5])
            : t.EndsWith("tok", StringComparison.Ordinal) ? (BudgetUnit.Tokens, t[..^3])
            : (BudgetUnit.Samples, t);
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out double amount) || !(amount >= 1) || double.IsInfinity(amount))
            throw new ArgumentException($"budget '{text}' is not N (e.g. 16), tokens (e.g. 4096tok) or FLOPs (e.g. 2e9flops), at least 1");
        if (unit != BudgetUnit.Flops && amount != Math.Floor(amount))
            throw new ArgumentException($"budget '{text}': a number of {(unit == BudgetUnit.Samples ? "samples" : "tokens")} must be whole");
        if (unit == BudgetUnit.Samples && amount > MaxSamples)
            throw new ArgumentException($"budget '{text}': at most {MaxSamples} samples");
        if (unit == BudgetUnit.Tokens && amount > MaxTokens)
            throw new ArgumentException($"budget '{text}': at most {MaxTokens:G} tokens");
        if (unit == BudgetUnit.Flops && amount > MaxFlops)
            throw new ArgumentException($"budget '{text}': at most {MaxFlops:G} FLOPs");
        return new Budget(unit, amount);
    }

    public override string ToString() => Unit switch
    {
        BudgetUnit.Samples => string.Create(CultureInfo.InvariantCulture, $"N={Amount:G}"),
        BudgetUnit.Tokens => string.Create(CultureInfo.InvariantCulture, $"{Amount:G}tok"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{Amount:G3}flops"),
    };
}
