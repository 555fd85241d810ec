namespace Ponder.Scaling;

/// <summary>One measurement of tree KV reuse: tokens run vs tokens sampled, and wall time, for a strategy at one N.</summary>
/// <param name="ForwardTokens">Policy tokens run through the model (prefill + decode).</param>
/// <param name="GeneratedTokens">Policy tokens sampled.</param>
public sealed record ReuseRow(string Strategy, int N, int Problems, long ForwardTokens, long GeneratedTokens, double Seconds)
{
    /// <summary>Forward ÷ generated: 1.0 when nothing is recomputed beyond the prompt.</summary>
    public double Ratio => GeneratedTokens == 0 ? double.NaN : ForwardTokens / (double)GeneratedTokens;

    /// <summary>Seconds per unit of N per problem: flat when time grows linearly with N.</summary>
    public double SecondsPerN => Seconds / N / Problems;
}
