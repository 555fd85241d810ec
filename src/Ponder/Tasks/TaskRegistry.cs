namespace Ponder.Tasks;

/// <summary>
/// Builds tasks from specs: <c>name</c> or <c>name:key=value,key=value</c>, e.g. <c>arith:steps=4</c>,
/// <c>countdown:numbers=5,max=50</c>, <c>jsonl:path=gsm8k.jsonl</c>,
/// <c>think:countdown:numbers=3,style=dfs</c> (see <see cref="Thinking.ThinkingTaskSpec"/>). Every task's <see cref="ITask.Name"/>
/// is a canonical spec (all options spelled out) that rebuilds an identical task.
/// </summary>
public static class TaskRegistry
{
    /// <summary>The task names <see cref="Create"/> understands (plus the <c>think:</c> wrapper, recognised by its prefix).</summary>
    public static IReadOnlyList<string> Known { get; } = ["arith", "countdown", "jsonl"];

    /// <summary>
    /// The task a spec names. <see cref="ArgumentException"/> with a one-line message for an unknown task or
    /// option or a bad value; <see cref="InvalidDataException"/> for a bad JSONL file.
    /// </summary>
    public static ITask Create(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (string.IsNullOrWhiteSpace(spec))
            throw new ArgumentException("no task: the checkpoint names none (its ponder.json has no task, or there is no ponder.json); pass --task");
        if (Thinking.ThinkingTaskSpec.Matches(spec)) return Thinking.ThinkingTaskSpec.Create(spec, Create);
        var parsed = TaskSpec.Parse(spec);
        return parsed.Name switch
        {
            "arith" => CreateArith(parsed),
            "countdown" => CreateCountdown(parsed),
            "jsonl" => CreateJsonl(parsed),
            _ => throw new ArgumentException($"unknown task '{parsed.Name}' (known: {string.Join(", ", Known)})"),
        };
    }

    private static ArithTask CreateArith(TaskSpec spec)
    {
        spec.RejectUnknown("steps", "digits", "ops");
        var defaults = new ArithOptions();
        return new ArithTask(new ArithOptions(
            spec.Int("steps", defaults.Steps), spec.Int("digits", defaults.Digits), spec.String("ops") ?? defaults.Ops));
    }

    private static CountdownTask CreateCountdown(TaskSpec spec)
    {
        spec.RejectUnknown("numbers", "max", "target");
        var defaults = new CountdownOptions();
        return new CountdownTask(new CountdownOptions(
            spec.Int("numbers", defaults.Numbers), spec.Int("max", defaults.Max), spec.Int("target", defaults.Target)));
    }

    private static JsonlTask CreateJsonl(TaskSpec spec)
    {
        spec.RejectUnknown("path", "train", "test");
        return (spec.String("path"), spec.String("train"), spec.String("test")) switch
        {
            (string path, null, null) => JsonlTask.FromFile(path),
            (null, string train, string test) => JsonlTask.FromFiles(train, test),
            _ => throw new ArgumentException("task 'jsonl': give either path=F or both train=F and test=G"),
        };
    }
}
