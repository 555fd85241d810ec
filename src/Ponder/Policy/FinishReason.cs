namespace Ponder.Policy;

/// <summary>Why a generated row ended.</summary>
public enum FinishReason
{
    /// <summary>Its text ended with a stop string (included in the output).</summary>
    Stop,
    /// <summary>It sampled the end-of-sequence token (in <see cref="Generation.Tokens"/>, not in the text).</summary>
    Eos,
    /// <summary>It reached MaxNewTokens or the model's max_position_embeddings.</summary>
    Length,
    /// <summary>The caller's <see cref="SamplingOptions.Abandon"/> ended it at the end of a line, as one that cannot succeed.</summary>
    Abandoned,
}
