using System.Globalization;
using Ponder.Tasks;

namespace Ponder.Thinking;

/// <summary>
/// A task whose solutions think first: the completion is a thinking section (a search trace in the style of
/// <see cref="Options"/>) and then the inner task's own answer lines. Problems are the inner task's; <see cref="Check"/>
/// judges only the answer after <c>&lt;/think&gt;</c> with the inner verifier. Spec:
/// <c>think:countdown:numbers=3,style=dfs,expansions=24,fallback=drop</c> (think options mixed into the inner task's).
/// Search styles need countdown; other tasks with gold solutions support <see cref="TraceStyle.OptimalOnly"/> (their gold steps
/// are the thinking).
/// </summary>
public sealed class ThinkingTask : ITask
{
    public ThinkingTask(ITask inner, TraceOptions options)
    {
        Inner = inner ?? throw new ArgumentNullException(nameof(inner));
        Options = options ?? throw new ArgumentNullException(nameof(options));
        if (options.MaxExpansions < 1)
            throw new ArgumentException($"task 'think': option 'expansions' must be at least 1, got {options.MaxExpansions}");
        if (inner is ThinkingTask)
            throw new ArgumentException("task 'think': the inner task already thinks");
        if (inner is not CountdownTask && options.Style != TraceStyle.OptimalOnly)
            throw new ArgumentException($"task 'think': style '{ThinkingTaskSpec.StyleName(options.Style)}' needs a task with a search space (countdown); '{inner.Name}' supports style=optimal");
        if (inner is not CountdownTask && options.Path != TracePath.None)
            throw new ArgumentException($"task 'think': option 'path' marks the moves in countdown's search traces; '{inner.Name}' traces are its gold steps");
        if (inner is not CountdownTask && options.Fallback == TraceFallback.Optimal)
            throw new ArgumentException($"task 'think': option 'fallback' says what replaces a search that fails; '{inner.Name}' traces are its gold steps, with nothing to fall back to");
    }

    public ITask Inner { get; }

    public TraceOptions Options { get; }

    public string Name => string.Create(CultureInfo.InvariantCulture,
        $"think:{Inner.Name},style={ThinkingTaskSpec.StyleName(Options.Style)},expansions={Options.MaxExpansions},fallback={Options.Fallback.ToString().ToLowerInvariant()}")
        + (Options.MaxLength > 0 ? string.Create(CultureInfo.InvariantCulture, $",maxlen={Options.MaxLength}") : "")
        + Options.Path switch { TracePath.States => ",path=1", TracePath.BackTo => ",path=back", _ => "" };

    public bool HasStepChecker => false;

    public IReadOnlyList<Problem> Problems(Split split, int count, int seed) => Inner.Problems(split, count, seed);

    /// <summary>The inner verdict on the answer part; an opened and never closed thinking section is wrong and not well-formed.</summary>
    public Outcome Check(Problem problem, string completion)
    {
        var (_, answer) = ThinkingFormat.Split(completion, out bool closed);
        if (!closed) return new Outcome(false, null, false, "the thinking section is not closed");
        return Inner.Check(problem, answer);
    }

    /// <summary>Open marker, trace, close marker, answer; null when the inner task cannot solve the problem or the trace is dropped.</summary>
    public IReadOnlyList<string>? GoldSolution(Problem problem) => Trace(problem) is { } trace ? ThinkingFormat.Wrap(trace.Thinking, trace.Answer) : null;

    /// <summary>The search trace of a problem with its counts; null as for <see cref="GoldSolution"/>.</summary>
    public SearchTrace? Trace(Problem problem)
    {
        ArgumentNullException.ThrowIfNull(problem);
        if (Inner is CountdownTask)
        {
            var puzzle = CountdownPuzzle.Parse(problem.Prompt);
            return CountdownTracer.Trace(puzzle.Numbers, puzzle.Target, Options);
        }
        var gold = Inner.GoldSolution(problem);
        if (gold is null) return null;
        var thinking = gold.Take(gold.Count - 1).ToList();
        return Options.TooLong(thinking, gold) ? null : new SearchTrace(thinking, gold, gold.Count - 1, 0, 0);
    }

    /// <summary>Behaviour in a completion's thinking section (countdown only; null for other inner tasks or no thinking).</summary>
    public TraceStats? Read(Problem problem, string completion)
    {
        ArgumentNullException.ThrowIfNull(problem);
        var (thinking, _) = ThinkingFormat.Split(completion, out _);
        if (Inner is not CountdownTask || thinking is null) return null;
        var puzzle = CountdownPuzzle.Parse(problem.Prompt);
        return TraceReader.Read(thinking, puzzle.Numbers, puzzle.Target, Options.Style);
    }

    public bool CheckStep(Problem problem, IReadOnlyList<string> steps) =>
        throw new NotSupportedException($"task '{Name}' has no step checker (its steps are inside a thinking section)");
}
