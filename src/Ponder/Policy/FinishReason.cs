namespace Ponder.Policy;

/// <summary>Why a generated row ended.</summary>
public enum FinishReason
{
    /// <summary>Its text ended with a stop string (included in the output).</summary>
    Stop,
    /// <summary>
    /// It sampled an end token: the model's EOS or another of its end tokens, or one of
    /// <see cref="SamplingOptions.StopTokenIds"/>. The token is in <see cref="Generation.Tokens"/>; its text is in
    /// <see cref="Generation.Text"/> only when it is an ordinary token (a special one is skipped, as vLLM does).
    /// </summary>
    Eos,
    /// <summary>It reached MaxNewTokens or the model's max_position_embeddings.</summary>
    Length,
    /// <summary>The caller's <see cref="SamplingOptions.Abandon"/> ended it at the end of a line, as one that cannot succeed.</summary>
    Abandoned,
}
