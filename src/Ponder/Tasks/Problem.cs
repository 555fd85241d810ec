namespace Ponder.Tasks;

/// <summary>
/// One problem of a task. <see cref="Prompt"/> is exactly the text the policy sees before its solution
/// (for built-in tasks it ends with a newline); <see cref="Answer"/> is the reference final answer.
/// </summary>
/// <param name="Id">Stable identifier (a hash of the canonical problem text for generated tasks).</param>
/// <param name="Prompt">Text given to the policy; the solution is written right after it.</param>
/// <param name="Answer">Reference final answer, as the final line would state it (without '#').</param>
public sealed record Problem(string Id, string Prompt, string Answer);
