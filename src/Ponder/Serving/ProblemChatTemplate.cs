namespace Ponder.Serving;

/// <summary>
/// The template of the built-in char-level policies: the last user message is the problem (e.g.
/// <c>347 +128 *3 -219</c>) and the prompt is that text with its trailing newlines replaced by exactly one, as the
/// policies were trained. System and developer messages carry no meaning for such a policy and are left out;
/// a conversation whose last message is not the user's cannot be continued and is refused.
/// </summary>
public sealed class ProblemChatTemplate : IChatTemplate
{
    public string Render(IReadOnlyList<ChatTurn> turns)
    {
        ArgumentNullException.ThrowIfNull(turns);
        var last = turns.LastOrDefault(t => t.Role is not (TurnRole.System or TurnRole.Developer))
            ?? throw new ArgumentException("the conversation has no user message");
        if (last.Role != TurnRole.User) throw new ArgumentException($"the last message must be the user's problem, not the {last.Role.ToString().ToLowerInvariant()}'s");
        string problem = last.Content.TrimEnd('\n', '\r');
        if (problem.Trim().Length == 0) throw new ArgumentException("the user message is empty");
        return problem + "\n";
    }
}
