using System.Globalization;

namespace Ponder.Tasks;

/// <summary>
/// Multi-step arithmetic chains evaluated left to right. Prompt <c>347 +128 *3 -219</c>, gold solution
/// <c>347+128=475</c>, <c>475*3=1425</c>, <c>1425-219=1206</c>, <c>#1206</c>. Every step is exactly
/// checkable, so <see cref="CheckStep"/> gives gold process labels.
/// </summary>
public sealed class ArithTask : ITask
{
    private const string AllOps = "+-*";

    public ArithTask()
        : this(new ArithOptions())
    {
    }

    /// <summary>Validates the options; <see cref="ArgumentException"/> names the bad option.</summary>
    public ArithTask(ArithOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        TaskSpec.RequireInRange("arith", "steps", options.Steps, 1, 8);
        TaskSpec.RequireInRange("arith", "digits", options.Digits, 1, 6);
        if (options.Ops.Length == 0 || options.Ops.Any(op => !AllOps.Contains(op)))
        {
            throw new ArgumentException($"task 'arith': option 'ops' must be a non-empty subset of {AllOps}, got '{options.Ops}'");
        }
        // Canonical order and no repeats, so that equal tasks have equal names.
        Options = options with { Ops = new string(AllOps.Where(options.Ops.Contains).ToArray()) };
    }

    public ArithOptions Options { get; }

    public string Name => string.Create(
        CultureInfo.InvariantCulture, $"arith:steps={Options.Steps},digits={Options.Digits},ops={Options.Ops}");

    public bool HasStepChecker => true;

    public IReadOnlyList<Problem> Problems(Split split, int count, int seed) =>
        GeneratedProblems.Draw(Name, split, count, seed, rng =>
        {
            var chain = ArithChain.Draw(rng, Options);
            return (chain.Prompt, chain.Result.ToString(CultureInfo.InvariantCulture), chain.Prompt);
        });

    /// <summary>
    /// Correct iff the final line <c>#x</c> states the reference numerically (the steps are not graded here;
    /// <see cref="CheckStep"/> does that). Well-formed iff there is at least one step, every step is
    /// <c>a op b=c</c> with op in <c>+-*</c>, and a final line exists.
    /// </summary>
    public Outcome Check(Problem problem, string completion)
    {
        ArgumentNullException.ThrowIfNull(problem);
        ArgumentNullException.ThrowIfNull(completion);
        var written = WrittenSolution.Read(completion);
        bool wellFormed = written.FinalAnswer is not null && written.Steps.Count > 0 && written.Steps.All(IsArithStep);
        string? answer = written.FinalAnswer;
        long expected = Reference(problem);
        bool integer = StepLine.TryParseInteger(answer, out long value);
        string? reason =
            answer is null ? "no final answer line '#<answer>'"
            : !integer ? $"final answer '{answer}' is not an integer"
            : value != expected ? $"final answer {value} is not {expected}"
            : null;
        // The answer as the number it states, so "#01206" and "#1206" vote together.
        return new Outcome(reason is null, integer ? value.ToString(CultureInfo.InvariantCulture) : answer, wellFormed, reason);
    }

    public IReadOnlyList<string> GoldSolution(Problem problem)
    {
        ArgumentNullException.ThrowIfNull(problem);
        var chain = ArithChain.Parse(problem.Prompt);
        return [.. chain.Steps.Select(s => s.ToString()), "#" + chain.Result.ToString(CultureInfo.InvariantCulture)];
    }

    /// <summary>
    /// True iff each line is the right next line of the gold chain (numbers compared numerically, no spaces
    /// allowed), and a final line, if any, comes after every chain step, is the last line, and states the answer.
    /// </summary>
    public bool CheckStep(Problem problem, IReadOnlyList<string> steps)
    {
        ArgumentNullException.ThrowIfNull(problem);
        ArgumentNullException.ThrowIfNull(steps);
        var gold = ArithChain.Parse(problem.Prompt).Steps;
        for (int i = 0; i < steps.Count; i++)
        {
            if (WrittenSolution.IsFinalLine(steps[i]))
            {
                return i == gold.Count && i == steps.Count - 1
                    && StepLine.TryParseInteger(steps[i].AsSpan(1).Trim(), out long value) && value == Reference(problem);
            }
            if (i >= gold.Count || !StepLine.TryParse(steps[i], out var step) || step != gold[i])
            {
                return false;
            }
        }
        return true;
    }

    private static bool IsArithStep(string line) => StepLine.TryParse(line, out var step) && step.Op != '/';

    private static long Reference(Problem problem) =>
        StepLine.TryParseInteger(problem.Answer, out long value)
            ? value
            : throw new ArgumentException($"problem {problem.Id}: reference answer '{problem.Answer}' is not an integer");
}
