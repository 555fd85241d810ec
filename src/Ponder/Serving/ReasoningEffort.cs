namespace Ponder.Serving;

/// <summary>OpenAI's <c>reasoning_effort</c>: how much test-time compute a request may spend.</summary>
public enum ReasoningEffort
{
    Low,
    Medium,
    High,
}
