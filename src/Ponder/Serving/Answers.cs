using Ponder.Tasks;

namespace Ponder.Serving;

/// <summary>Final answers of served completions, read as the tasks read them.</summary>
public static class Answers
{
    /// <summary>
    /// The built-in step format's final-answer line (the first line starting with '#', as the built-in tasks read it),
    /// else a chat model's <c>#### x</c> or <c>\boxed{x}</c> (as the JSONL tasks read it); normalized
    /// (whitespace and thousands separators dropped, numbers without trailing zeros) so that equal answers vote together.
    /// Null when none is found.
    /// </summary>
    public static string? Read(string completion)
    {
        ArgumentNullException.ThrowIfNull(completion);
        string? line = WrittenSolution.Read(completion).FinalAnswer;
        string? found = line is { Length: > 0 } && !line.StartsWith('#') ? line : FinalAnswer.Extract(completion);   // "#### x" is GSM8K's
        return found is null ? null : FinalAnswer.Normalize(found) is { Length: > 0 } answer ? FinalAnswer.Canonical(answer) : null;
    }
}
