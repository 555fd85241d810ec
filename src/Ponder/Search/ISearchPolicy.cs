namespace Ponder.Search;

/// <summary>A policy as search sees it: something that opens a session on a problem. <see cref="GeneratorPolicy"/> wraps a transformer.</summary>
public interface ISearchPolicy
{
    /// <summary>Cost of one policy token, for the meter.</summary>
    FlopsModel Flops { get; }

    /// <summary>A session on <paramref name="problem"/> that charges <paramref name="meter"/>.</summary>
    ISearchSession Open(Tasks.Problem problem, ComputeMeter meter);
}
