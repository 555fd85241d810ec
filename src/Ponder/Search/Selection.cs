using Ponder.Rewards;
using Ponder.Scaling;
using Ponder.Tasks;

namespace Ponder.Search;

/// <summary>Selectors: what each needs, how it scores finished candidates, and which candidate it picks.</summary>
internal static class Selection
{
    public static bool NeedsPrm(Selector s) => s is Selector.PrmVote or Selector.PrmMax;

    /// <summary>Throws <see cref="ArgumentException"/> when the context lacks the model <paramref name="s"/> needs.</summary>
    public static void Require(Selector s, SearchContext context)
    {
        if (NeedsPrm(s) && context.Prm is null) throw new ArgumentException($"selector {s} needs a process reward model, and none was given");
        if (s is Selector.OrmVote or Selector.OrmMax && context.Orm is null) throw new ArgumentException($"selector {s} needs an outcome reward model, and none was given");
        if (s is Selector.Verifier && context.Verifier is null)
            throw new ArgumentException("selector Verifier needs a verifier that works without the reference answer; this task has none (only countdown does)");
    }

    /// <summary>Scores what <paramref name="s"/> needs of finished nodes (PRM step scores or an outcome score), charged to the meter.</summary>
    public static IReadOnlyList<Scored> Score(Selector s, SearchContext context, ComputeMeter meter, Problem problem, IReadOnlyList<StepNode> nodes)
    {
        if (NeedsPrm(s))
        {
            var steps = Rewarding.Steps(context, meter, problem, nodes);
            return nodes.Select((n, i) => new Scored(n, steps[i])).ToList();
        }
        var outcome = s switch { Selector.OrmVote or Selector.OrmMax => context.Orm, Selector.Verifier => context.Verifier, _ => null };
        if (outcome is null) return nodes.Select(n => new Scored(n, [])).ToList();
        var scores = Rewarding.Outcomes(context, outcome, meter, problem, nodes);
        return nodes.Select((n, i) => new Scored(n, [], scores[i])).ToList();
    }

    /// <summary>Candidates with the selector's score, and the index of the chosen one (the first on ties).</summary>
    public static (IReadOnlyList<Candidate> Candidates, int Chosen) Choose(Selector s, Aggregation how, SearchContext context, Problem problem, IReadOnlyList<Scored> scored)
    {
        if (scored.Count == 0) throw new InvalidOperationException("no finished candidate to choose from");
        var answers = scored.Select(c => context.AnswerOf(problem, c.Node.Text)).ToList();
        var value = scored.Select(c => s switch
        {
            Selector.Majority => 1.0,
            Selector.PrmVote or Selector.PrmMax => StepScores.Aggregate(c.StepScores, how),
            _ => c.Outcome,
        }).ToList();
        int chosen;
        if (s is Selector.Majority or Selector.PrmVote or Selector.OrmVote)
        {
            var winner = Vote.Weighted(answers.Select((a, i) => (a, value[i])));
            var totals = answers.Select(a => a is null ? 0 : answers.Select((b, j) => b == a ? value[j] : 0).Sum()).ToList();
            double all = Math.Max(1e-12, value.Where((_, i) => answers[i] is not null).Sum());
            value = s == Selector.Majority ? totals.Select(t => t / all).ToList() : value;
            chosen = winner is null ? 0 : Enumerable.Range(0, scored.Count).Where(i => answers[i] == winner).MaxBy(i => (value[i], -i));
        }
        else
        {
            chosen = Enumerable.Range(0, scored.Count).MaxBy(i => (double.IsNaN(value[i]) ? double.NegativeInfinity : value[i], -i));
        }
        var candidates = scored.Select((c, i) => new Candidate(c.Node.Text, answers[i], value[i], c.StepScores)).ToList();
        return (candidates, chosen);
    }

    /// <summary>The search result for a choice among scored candidates.</summary>
    public static SearchResult Result(StrategyKind kind, string description, Selector s, Aggregation how, SearchContext context, Problem problem,
        IReadOnlyList<Scored> scored, ComputeMeter meter)
    {
        var (candidates, chosen) = Choose(s, how, context, problem, scored);
        return new SearchResult(kind, candidates[chosen].Completion, candidates[chosen].Answer, candidates, meter.Snapshot(), description);
    }
}
