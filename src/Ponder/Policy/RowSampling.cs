namespace Ponder.Policy;

/// <summary>
/// How one row of a batch picks its next token when the rows of one batch sample differently (requests that share a
/// decode batch on a server): its temperature and filters, and its own noise stream, so that what a row draws does not
/// depend on which rows share its batch. <paramref name="Draws"/> may be null only for a greedy row (temperature 0).
/// </summary>
public sealed record RowSampling(double Temperature, int TopK, double TopP, UniformDraws? Draws)
{
    /// <summary>Whether the row keeps every token (no top-k, no top-p) of a vocabulary of <paramref name="vocab"/>.</summary>
    public bool Unfiltered(long vocab) => (TopK <= 0 || TopK >= vocab) && TopP >= 1;
}
