using Ponder.Policy;
using Ponder.Tasks;

namespace Ponder.Search;

/// <summary>
/// A transformer policy for search: sessions sample with a <see cref="Generator"/> and keep every partial solution
/// as a row of a KV cache, so a step is always appended to its prefix's cache (forked, never recomputed).
/// </summary>
public sealed class GeneratorPolicy : ISearchPolicy
{
    public GeneratorPolicy(Generator generator, SearchLimits? limits = null)
    {
        Generator = generator ?? throw new ArgumentNullException(nameof(generator));
        Limits = limits ?? new SearchLimits();
        Limits.Validate();
        Flops = FlopsModel.Of(generator.Model);
    }

    public GeneratorPolicy(LoadedPolicy policy, SearchLimits? limits = null)
        : this(new Generator((policy ?? throw new ArgumentNullException(nameof(policy))).Model, policy.Tokenizer), limits)
    {
    }

    public Generator Generator { get; }

    public SearchLimits Limits { get; }

    public FlopsModel Flops { get; }

    public ISearchSession Open(Problem problem, ComputeMeter meter)
    {
        ArgumentNullException.ThrowIfNull(problem);
        ArgumentNullException.ThrowIfNull(meter);
        return new GeneratorSession(Generator, Limits, Prompting.Encode(Generator.Tokenizer, problem.Prompt), meter);
    }
}
