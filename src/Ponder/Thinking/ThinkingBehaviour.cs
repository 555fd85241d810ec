using Ponder.Policy;
using Ponder.Tasks;

namespace Ponder.Thinking;

/// <summary>Measures search behaviour in completions of a thinking task: dead ends, backtracks, revisions, validity.</summary>
public static class ThinkingBehaviour
{
    public static BehaviourStats Measure(ThinkingTask task, ITokenizer tokenizer, IReadOnlyList<Problem> problems, IReadOnlyList<string> completions)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(problems);
        ArgumentNullException.ThrowIfNull(completions);
        if (problems.Count != completions.Count || problems.Count == 0)
            throw new ArgumentException($"{problems.Count} problems but {completions.Count} completions");
        var correct = problems.Select((p, i) => task.Check(p, completions[i]).Correct).ToArray();
        var stats = problems.Select((p, i) => task.Read(p, completions[i]) ?? new TraceStats(0, 0, 0, 0, 0, 0, false, false)).ToArray();
        var thinking = completions.Select(c => ThinkingFormat.Split(c, out _).Thinking ?? "").ToArray();
        var solved = Enumerable.Range(0, stats.Length).Where(i => correct[i]).ToArray();
        int tries = stats.Sum(s => s.Tries), backs = stats.Sum(s => s.Backtracks);
        return new BehaviourStats(problems.Count, correct.Average(c => c ? 1.0 : 0.0),
            thinking.Average(t => (double)tokenizer.Encode(t).Length), completions.Average(c => (double)tokenizer.Encode(c).Length),
            stats.Average(s => (double)s.DeadEnds),
            solved.Length == 0 ? 0 : solved.Average(i => (double)stats[i].Backtracks),
            solved.Length == 0 ? 0 : solved.Average(i => stats[i].Revised ? 1.0 : 0.0),
            tries == 0 ? 0 : stats.Sum(s => s.InvalidLines) / (double)tries,
            backs == 0 ? 0 : stats.Sum(s => s.InvalidBacktracks) / (double)backs,
            completions.Average(c => Closed(c) ? 1.0 : 0.0));
    }

    /// <summary>Sorts the wrong completions by why they failed: unclosed, solved but answered wrong, slipped, or ended unsolved.</summary>
    public static FailureCounts Failures(ThinkingTask task, IReadOnlyList<Problem> problems, IReadOnlyList<string> completions)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(problems);
        ArgumentNullException.ThrowIfNull(completions);
        if (problems.Count != completions.Count)
            throw new ArgumentException($"{problems.Count} problems but {completions.Count} completions");
        int wrong = 0, unclosed = 0, solved = 0, slipped = 0, unsolved = 0;
        for (int i = 0; i < problems.Count; i++)
        {
            if (task.Check(problems[i], completions[i]).Correct) continue;
            wrong++;
            var s = task.Read(problems[i], completions[i]);
            if (!Closed(completions[i])) unclosed++;
            else if (s is { Solved: true }) solved++;
            else if (s is { } t && t.InvalidLines + t.InvalidBacktracks > 0) slipped++;
            else unsolved++;
        }
        return new FailureCounts(wrong, unclosed, solved, slipped, unsolved);
    }

    static bool Closed(string completion)
    {
        ThinkingFormat.Split(completion, out bool closed);
        return closed && completion.Contains(ThinkingFormat.Close, StringComparison.Ordinal);
    }
}
