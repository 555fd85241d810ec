using Ponder.Policy;
using Ponder.Rewards;
using Ponder.Search;
using Ponder.Tasks;
using Generator = Ponder.Policy.Generator;

namespace Ponder.Serving;

/// <summary>
/// One <see cref="EffortPlan"/> run as a real search (<see cref="ISearchStrategy"/>) on a served prompt: the prompt is
/// the problem, final answers are read as <see cref="Answers.Read"/> reads them, the request's temperature, seed and
/// max_tokens set the search's, and its stop strings cut the chosen solution afterwards (OpenAI semantics).
/// What the search spent comes from its <see cref="ComputeMeter"/>: <see cref="SearchAnswer.Spent"/> counts the tokens
/// the policy sampled, the policy tokens it read again beyond the prompt's first pass (a revision's prompt, a
/// re-prefilled prompt) and the tokens the reward model read. Not thread-safe, like the generator under it.
/// </summary>
public sealed class SearchReasoner
{
    private readonly Generator _policy;
    private readonly ISearchStrategy _strategy;
    private readonly IProcessReward? _prm;
    private readonly Generator? _reviser;
    private readonly SearchLimits _limits;

    /// <param name="plan">What to run.</param>
    /// <param name="policy">The served model.</param>
    /// <param name="prm">Process reward model, for the strategies and selectors that need one.</param>
    /// <param name="reviser">Reviser model, for sequential revision.</param>
    /// <param name="computePlan">Validated settings compute-optimal chooses among.</param>
    /// <param name="limits">Step limits of a solution; MaxNewTokens is replaced by each request's max_tokens.</param>
    /// <exception cref="ArgumentException">The plan cannot run on this server (a model it needs is missing, N not a multiple of M…).</exception>
    public SearchReasoner(EffortPlan plan, Generator policy, IProcessReward? prm = null, Generator? reviser = null,
        IReadOnlyList<PlanEntry>? computePlan = null, SearchLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(policy);
        plan.Validate();
        (Plan, _policy, _prm, _reviser, _limits) = (plan, policy, prm, reviser, limits ?? new SearchLimits());
        _limits.Validate();
        _strategy = plan.Strategy == StrategyKind.ComputeOptimal
            ? new ComputeOptimal(computePlan ?? throw new ArgumentException($"effort plan '{plan}' needs a compute-optimal plan (a validation sweep), and the server has none"))
            : Strategies.Create(plan.Strategy, plan.Settings);
        try
        {
            _strategy.Check(Context(_limits, 0), plan.Budget);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"effort plan '{plan}': {e.Message}", e);
        }
    }

    public EffortPlan Plan { get; }

    /// <summary>What runs: the strategy with its settings, or for compute-optimal the validated setting it picked.</summary>
    public string Description => _strategy is ComputeOptimal optimal && optimal.Pick(Plan.Budget) is { } pick
        ? $"compute-optimal → {pick.Name} N={pick.N}"
        : Plan.Settings.Describe(Plan.Strategy);

    /// <summary>
    /// Searches for <paramref name="prompt"/> (whose ids are <paramref name="promptIds"/>) with the request's sampling
    /// options. Throws <see cref="OperationCanceledException"/> within one policy step or reward call of <paramref name="cancellation"/> firing.
    /// </summary>
    public SearchAnswer Reason(string prompt, int[] promptIds, SamplingOptions sampling, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(promptIds);
        ArgumentNullException.ThrowIfNull(sampling);
        var limits = _limits with { MaxNewTokens = sampling.MaxNewTokens, MaxStepTokens = Math.Min(_limits.MaxStepTokens, sampling.MaxNewTokens) };
        var strategy = _strategy is ComputeOptimal || sampling.Temperature == Plan.Settings.Temperature
            ? _strategy
            : Strategies.Create(Plan.Strategy, Plan.Settings with { Temperature = sampling.Temperature });
        var result = strategy.Solve(new Problem("served", prompt, ""), Context(limits, sampling.Seed, cancellation), Plan.Budget);

        var c = result.Compute;
        long spent = c.GeneratedTokens + Math.Max(0, c.PrefillTokens - promptIds.Length) + c.RewardTokens;
        int written = _policy.Tokenizer.Encode(result.Completion).Length;
        bool cutAtLength = written >= limits.MaxNewTokens;
        int answerTokens = (int)Math.Min(spent, written + (cutAtLength ? 0 : 1));   // an answer that ended on its own also sampled EOS
        var (text, stopped) = CutAtStop(result.Completion, sampling.Stop);
        var chosen = new Completion(text, stopped || !cutAtLength ? CompletionFinish.Stop : CompletionFinish.Length, answerTokens);
        return new SearchAnswer(chosen, result.Answer, promptIds.Length, spent, result);
    }

    private SearchContext Context(SearchLimits limits, long seed, CancellationToken cancellation = default) =>
        new(new GeneratorPolicy(_policy, limits), (_, text) => Answers.Read(text))
        {
            Prm = _prm,
            Reviser = _reviser is null ? null : new GeneratorPolicy(_reviser, limits),
            Seed = seed,
            Cancellation = cancellation,
            RewardTurns = _policy.Turns,
        };

    /// <summary>The text up to the earliest stop string, and whether one was found.</summary>
    private static (string Text, bool Stopped) CutAtStop(string text, IReadOnlyList<string> stops)
    {
        int cut = stops.Select(s => text.IndexOf(s, StringComparison.Ordinal)).Where(i => i >= 0).DefaultIfEmpty(-1).Min();
        return cut >= 0 ? (text[..cut], true) : (text, false);
    }
}
