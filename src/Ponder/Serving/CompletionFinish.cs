namespace Ponder.Serving;

/// <summary>Why a completion ended, as OpenAI-compatible endpoints report it (<c>finish_reason</c>).</summary>
public enum CompletionFinish
{
    /// <summary>The model ended it (EOS) or it reached a stop string (left out of the text).</summary>
    Stop,
    /// <summary>It reached the token limit (max_tokens or the model's context).</summary>
    Length,
}
