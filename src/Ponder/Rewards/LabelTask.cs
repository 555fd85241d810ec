using Ponder.Tasks;
using Ponder.Thinking;

namespace Ponder.Rewards;

/// <summary>What a label file's header names as its task: the task's name, and for problems read from files their content too.</summary>
public static class LabelTask
{
    /// <summary>
    /// <see cref="ITask.Name"/>; for a jsonl task (alone or inside a thinking task), the name and the files'
    /// <see cref="JsonlTask.ContentId"/>, since its name holds only their paths.
    /// </summary>
    public static string Of(ITask task)
    {
        ArgumentNullException.ThrowIfNull(task);
        return task switch
        {
            JsonlTask jsonl => $"{jsonl.Name} {jsonl.ContentId}",
            ThinkingTask { Inner: JsonlTask inner } => $"{task.Name} {inner.ContentId}",
            _ => task.Name,
        };
    }
}
