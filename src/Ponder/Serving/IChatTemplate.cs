namespace Ponder.Serving;

/// <summary>
/// Turns a chat conversation into the prompt text a policy continues. Built-in char-level policies take the
/// problem alone (<see cref="ProblemChatTemplate"/>); a Hugging Face chat template plugs in here.
/// </summary>
public interface IChatTemplate
{
    /// <summary>The prompt for <paramref name="turns"/>; <see cref="ArgumentException"/> when the conversation cannot be rendered.</summary>
    string Render(IReadOnlyList<ChatTurn> turns);
}
