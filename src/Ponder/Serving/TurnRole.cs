namespace Ponder.Serving;

/// <summary>Who wrote a chat message.</summary>
public enum TurnRole
{
    System,
    Developer,
    User,
    Assistant,
    Tool,
}
