using static TorchSharp.torch;

namespace Ponder.Rewards;

/// <summary>
/// What <see cref="RewardModel.ScoresAppended"/> needs to continue a cached solution's likelihood features: per row,
/// the running sum (B) and minimum (B) of the solution's token log-probabilities so far, and the language-model
/// log-probabilities (B, V) at the last cached token, which score the next appended token.
/// </summary>
public sealed record LikelihoodState(Tensor Sum, Tensor Min, Tensor LastLogProbs) : IDisposable
{
    /// <summary>The rows <paramref name="rows"/> (int64 indices) of this state, in that order.</summary>
    public LikelihoodState Select(Tensor rows) => new(Sum.index_select(0, rows), Min.index_select(0, rows), LastLogProbs.index_select(0, rows));

    public LikelihoodState MoveToOuterDisposeScope() =>
        new(Sum.MoveToOuterDisposeScope(), Min.MoveToOuterDisposeScope(), LastLogProbs.MoveToOuterDisposeScope());

    public void Dispose()
    {
        Sum.Dispose();
        Min.Dispose();
        LastLogProbs.Dispose();
    }
}
