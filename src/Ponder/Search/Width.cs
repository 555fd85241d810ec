using Ponder.Tasks;

namespace Ponder.Search;

/// <summary>
/// N for beam search and DVTS: the budget's N, or for tokens/FLOPs what the budget pays for at the price of one sampled,
/// scored solution (times <c>costFactor</c>, for lookahead's extra steps). The width is only an estimate: the searches
/// also stop expanding once a tokens or FLOPs budget is spent.
/// </summary>
internal static class Width
{
    /// <summary>The most beams: every beam holds a row of KV cache for the whole search.</summary>
    public const int Max = 4096;

    public static int Resolve(Budget budget, int multiple, ISearchSession session, SearchContext context, ComputeMeter meter, Problem problem, double temperature,
        double costFactor = 1)
    {
        if (budget.Unit == BudgetUnit.Samples) return budget.N;
        var probe = session.Sample(1, temperature, Seeds.Mix(context.Seed, -1));
        if (context.Prm is not null) Rewarding.Steps(context, meter, problem, probe);
        double price = budget.Measure(meter.Snapshot()) * costFactor;
        int n = (int)Math.Min(Max, Math.Floor(budget.Left(meter) / Math.Max(price, 1e-9)));
        return Math.Max(multiple, n / multiple * multiple);
    }

    /// <summary>Throws unless a samples budget is a positive multiple of <paramref name="multiple"/>.</summary>
    public static void Require(Budget budget, int multiple, string strategy)
    {
        if (budget.Unit == BudgetUnit.Samples && (budget.N < multiple || budget.N % multiple != 0))
            throw new ArgumentException($"{strategy} needs N to be a multiple of M = {multiple} (N/M beams kept, each expanded M ways); got N = {budget.N}");
        if (budget.Unit == BudgetUnit.Samples && budget.N > Max)
            throw new ArgumentException($"{strategy} keeps a KV-cache row for each of its N beams: N must be at most {Max}, got {budget.N}");
    }
}
