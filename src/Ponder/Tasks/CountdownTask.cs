using System.Globalization;

namespace Ponder.Tasks;

/// <summary>
/// Countdown: combine the input numbers with + - * / to make the target, e.g. prompt <c>3 7 25 50 -> 100</c>,
/// solution <c>50*3=150</c>, <c>150-25=125</c>, ... <c>#100</c>. Each step uses two available numbers (unused
/// inputs and earlier results, each once); results are non-negative integers and division is exact. The gold
/// solution is a shortest one found by an exact solver, which also labels step prefixes by reachability.
/// </summary>
public sealed class CountdownTask : ITask
{
    public CountdownTask()
        : this(new CountdownOptions())
    {
    }

    /// <summary>
    /// Validates the options; <see cref="ArgumentException"/> names the bad option, or says so when the
    /// options cannot make any target (e.g. two numbers in 1..2 never reach 10).
    /// </summary>
    public CountdownTask(CountdownOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        TaskSpec.RequireInRange("countdown", "numbers", options.Numbers, 2, 6);
        TaskSpec.RequireInRange("countdown", "max", options.Max, 2, 1_000_000);
        TaskSpec.RequireInRange("countdown", "target", options.Target, 10, 1_000_000);
        Options = options;
        _ = CountdownPuzzle.Draw(new Random(0), options);
    }

    public CountdownOptions Options { get; }

    public string Name => string.Create(
        CultureInfo.InvariantCulture, $"countdown:numbers={Options.Numbers},max={Options.Max},target={Options.Target}");

    public bool HasStepChecker => true;

    /// <summary>
    /// Problems of a split, its numbers in the order drawn; the split and distinctness go by the numbers in any order and the
    /// target (<c>7 3 -> 21</c> and <c>3 7 -> 21</c> are one puzzle, on one side).
    /// </summary>
    public IReadOnlyList<Problem> Problems(Split split, int count, int seed) =>
        GeneratedProblems.Draw(Name, split, count, seed, rng =>
        {
            var puzzle = CountdownPuzzle.Draw(rng, Options);
            return (puzzle.Prompt, puzzle.Target.ToString(CultureInfo.InvariantCulture), puzzle.Key);
        });

    /// <summary>
    /// Correct iff there is at least one step, every step is valid, the last step makes the target and the
    /// final line <c>#x</c> states it. Well-formed iff there is at least one step, every step parses as
    /// <c>a op b=c</c>, and a final line exists. The reason names the first problem, e.g. <c>step 2: 17 is not available</c>.
    /// </summary>
    public Outcome Check(Problem problem, string completion)
    {
        ArgumentNullException.ThrowIfNull(problem);
        ArgumentNullException.ThrowIfNull(completion);
        var puzzle = CountdownPuzzle.Parse(problem.Prompt);
        var written = WrittenSolution.Read(completion);
        var board = new CountdownBoard(puzzle.Numbers);
        bool wellFormed = written.FinalAnswer is not null && written.Steps.Count > 0;
        string? reason = null;
        for (int i = 0; i < written.Steps.Count; i++)
        {
            if (!StepLine.TryParse(written.Steps[i], out var step))
            {
                wellFormed = false;
                reason ??= $"step {i + 1}: '{written.Steps[i]}' is not a step a op b=c";
            }
            else if (reason is null && board.Play(step) is { } invalid)
            {
                reason = $"step {i + 1}: {invalid}";
            }
        }
        string? answer = written.FinalAnswer;
        reason ??=
            written.Steps.Count == 0 ? "no steps"
            : board.LastResult != puzzle.Target ? $"the last step makes {board.LastResult}, not the target {puzzle.Target}"
            : answer is null ? "no final answer line '#<target>'"
            : !StepLine.TryParseInteger(answer, out long value) || value != puzzle.Target ? $"final answer '{answer}' is not the target {puzzle.Target}"
            : null;
        return new Outcome(reason is null, answer, wellFormed, reason);
    }

    /// <summary>A shortest solution, then <c>#target</c>; null only for a prompt whose target cannot be made.</summary>
    public IReadOnlyList<string>? GoldSolution(Problem problem)
    {
        ArgumentNullException.ThrowIfNull(problem);
        var puzzle = CountdownPuzzle.Parse(problem.Prompt);
        var steps = CountdownSolver.Shortest(puzzle.Numbers, puzzle.Target);
        return steps is null || steps.Count == 0
            ? null
            : [.. steps.Select(s => s.ToString()), "#" + puzzle.Target.ToString(CultureInfo.InvariantCulture)];
    }

    /// <summary>
    /// True iff every step so far is valid and the target can still be made from the available numbers (or
    /// has been); a final line is right only as the last line, right after a step that made the target, stating it.
    /// </summary>
    public bool CheckStep(Problem problem, IReadOnlyList<string> steps)
    {
        ArgumentNullException.ThrowIfNull(problem);
        ArgumentNullException.ThrowIfNull(steps);
        var puzzle = CountdownPuzzle.Parse(problem.Prompt);
        var board = new CountdownBoard(puzzle.Numbers);
        for (int i = 0; i < steps.Count; i++)
        {
            if (WrittenSolution.IsFinalLine(steps[i]))
            {
                return i == steps.Count - 1 && board.LastResult == puzzle.Target
                    && StepLine.TryParseInteger(steps[i].AsSpan(1).Trim(), out long value) && value == puzzle.Target;
            }
            if (!StepLine.TryParse(steps[i], out var step) || board.Play(step) is not null)
            {
                return false;
            }
        }
        return CountdownSolver.Reachable(board.Available, puzzle.Target);
    }
}
