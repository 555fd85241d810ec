namespace Ponder.Serving;

/// <summary>One chat message of a request: its role and its text (text parts joined).</summary>
public sealed record ChatTurn(TurnRole Role, string Content);
