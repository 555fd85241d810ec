namespace Ponder.Serving;

/// <summary>Which OpenAI endpoint a <see cref="RemotePolicy"/> calls.</summary>
public enum RemoteApi
{
    /// <summary><c>POST /completions</c>: the prompt is sent as is (base models, Ponder's built-in policies).</summary>
    Completions,
    /// <summary><c>POST /chat/completions</c>: the prompt is sent as the one user message (chat models; the server applies its template).</summary>
    Chat,
}
