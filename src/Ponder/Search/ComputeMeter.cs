namespace Ponder.Search;

/// <summary>
/// Counts the compute of one search as it happens. The policy session reports every run of tokens with its
/// positions (so attention FLOPs are exact); reward calls report tokens through <see cref="IMeteredReward"/>.
/// Not thread-safe: one meter per search.
/// </summary>
/// <param name="cancellation">
/// Stops the search: every session call and reward call charged to this meter checks it before its work (and the
/// policy between decode steps), throwing <see cref="OperationCanceledException"/>.
/// </param>
public sealed class ComputeMeter(FlopsModel policy, CancellationToken cancellation = default)
{
    public FlopsModel Policy { get; } = policy ?? throw new ArgumentNullException(nameof(policy));

    /// <summary>The search's cancellation; the meter carries it to everything that charges it.</summary>
    public CancellationToken Cancellation { get; } = cancellation;

    public long PrefillTokens { get; private set; }
    public long DecodeTokens { get; private set; }
    public long GeneratedTokens { get; private set; }
    public long RewardTokens { get; private set; }
    public double PolicyFlops { get; private set; }
    public double RewardFlops { get; private set; }

    public double Flops => PolicyFlops + RewardFlops;

    /// <summary>Every token any network ran (policy and reward model).</summary>
    public long Tokens => PrefillTokens + DecodeTokens + RewardTokens;

    /// <summary><paramref name="count"/> policy tokens run in parallel at positions start … start + count − 1.</summary>
    public void Prefill(long start, long count)
    {
        PrefillTokens += count;
        PolicyFlops += Policy.Run(start, count);
    }

    /// <summary><paramref name="count"/> policy tokens run one at a time at positions start … start + count − 1.</summary>
    public void Decode(long start, long count)
    {
        DecodeTokens += count;
        PolicyFlops += Policy.Run(start, count);
    }

    /// <summary>Tokens the policy sampled.</summary>
    public void Generated(long count) => GeneratedTokens += count;

    /// <summary>Reward-model tokens at a given cost per token.</summary>
    public void Reward(long tokens, double flopsPerToken)
    {
        RewardTokens += tokens;
        RewardFlops += tokens * flopsPerToken;
    }

    /// <summary>Runs a reward call and charges what <paramref name="reward"/> reports spending (nothing unless it is an <see cref="IMeteredReward"/>).</summary>
    public T Charge<T>(object reward, Func<T> call)
    {
        ArgumentNullException.ThrowIfNull(call);
        Cancellation.ThrowIfCancellationRequested();
        if (reward is not IMeteredReward metered) return call();
        long before = metered.Tokens;
        var result = call();
        Reward(metered.Tokens - before, metered.FlopsPerToken);
        return result;
    }

    public Compute Snapshot() => new(PrefillTokens, DecodeTokens, GeneratedTokens, RewardTokens, PolicyFlops, RewardFlops);
}
