using Ponder.Policy;

namespace Ponder.Search;

/// <summary>
/// Forward FLOPs of one token at position p (0-based, so it attends to p + 1 keys):
/// <see cref="PerToken"/> + <see cref="PerKey"/> · (p + 1). Made from <see cref="Transformer.FlopsPerToken"/>.
/// </summary>
/// <param name="PerToken">2 × matmul weights: what every token costs whatever its context.</param>
/// <param name="PerKey">Attention scores and weighted sum per attended key (2 × layers × hidden).</param>
public sealed record FlopsModel(double PerToken, double PerKey)
{
    public static FlopsModel Of(Transformer model)
    {
        ArgumentNullException.ThrowIfNull(model);
        double zero = model.FlopsPerToken(0);
        return new FlopsModel(zero, model.FlopsPerToken(1) - zero);
    }

    /// <summary>FLOPs of <paramref name="count"/> consecutive tokens at positions start … start + count − 1.</summary>
    public double Run(long start, long count) =>
        count <= 0 ? 0 : count * PerToken + PerKey * (count * start + count * (count + 1) / 2.0);
}
