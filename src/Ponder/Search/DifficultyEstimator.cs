using Ponder.Rewards;
using Ponder.Scaling;
using Ponder.Tasks;

namespace Ponder.Search;

/// <summary>
/// Answer-free difficulty of a problem, the "model-predicted difficulty" of Snell et al. (2024): sample K solutions
/// from the policy and, with a PRM, average their aggregated PRM scores (the verifier's view of the policy's own
/// attempts, as in the paper); without a PRM, take the share of the samples that agree with their majority answer.
/// Higher means easier. The reference answer is never read, so test problems can be binned before they are solved;
/// the samples and PRM calls are charged to a meter like any search's.
/// </summary>
public sealed record DifficultyEstimator
{
    /// <summary>Seed stream of the estimate's samples, apart from the streams strategies use for the same context seed.</summary>
    public const long SeedStream = 0x5D1FF;

    /// <summary>K: solutions sampled per problem (a few: the estimate is paid for out of the budget).</summary>
    public int Samples { get; init; } = 4;

    /// <summary>Sampling temperature of those solutions.</summary>
    public double Temperature { get; init; } = 1.0;

    /// <summary>How a sample's PRM step scores become one (the paper averages the final step's score).</summary>
    public Aggregation Aggregation { get; init; } = Aggregation.Last;

    public void Validate()
    {
        if (Samples < 1) throw new ArgumentException($"difficulty samples must be ≥ 1, got {Samples}");
        if (!(Temperature >= 0) || double.IsInfinity(Temperature)) throw new ArgumentException($"difficulty temperature must be finite and ≥ 0, got {Temperature}");
    }

    /// <summary>The estimate (in [0, 1], higher = easier) and the compute it spent.</summary>
    public (double Score, Compute Compute) Estimate(Problem problem, SearchContext context)
    {
        ArgumentNullException.ThrowIfNull(problem);
        ArgumentNullException.ThrowIfNull(context);
        Validate();
        var meter = context.NewMeter();
        IReadOnlyList<StepNode> samples;
        using (var session = context.Policy.Open(problem, meter))
            samples = session.Sample(Samples, Temperature, Seeds.Mix(context.Seed, SeedStream));
        double score;
        if (context.Prm is not null)
            score = Rewarding.Aggregated(context, meter, problem, samples, Aggregation).Average();
        else
        {
            var answers = samples.Select(s => context.AnswerOf(problem, s.Text)).ToList();
            string? majority = Vote.Majority(answers);
            score = majority is null ? 0 : answers.Count(a => a == majority) / (double)answers.Count;
        }
        return (score, meter.Snapshot());
    }
}
