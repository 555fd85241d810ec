namespace Ponder.Thinking;

/// <summary>
/// How long a policy may think. Thinking tokens are the tokens between <c>&lt;think&gt;\n</c> and <c>&lt;/think&gt;</c>
/// (generated ones, forcing cues and the newline the controller may add before a forced close).
/// </summary>
public sealed record ThinkingBudget
{
    /// <summary>Hard cap: at this many thinking tokens the controller closes the section itself and asks for the answer.</summary>
    public int MaxThinkingTokens { get; init; } = 256;

    /// <summary>
    /// Budget forcing (s1): when the policy closes the section (or ends) before this many thinking tokens, the close is
    /// suppressed and <see cref="Cue"/> appended instead, so it thinks longer. 0 turns forcing off.
    /// </summary>
    public int MinThinkingTokens { get; init; }

    /// <summary>Continuation cue appended in place of a suppressed close.</summary>
    public string Cue { get; init; } = "wait\n";

    /// <summary>Most cues per completion: a policy that keeps closing early is let go after this many.</summary>
    public int MaxForcings { get; init; } = 4;

    /// <summary>Most tokens for the answer after the section is closed.</summary>
    public int MaxAnswerTokens { get; init; } = 64;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> or <see cref="ArgumentException"/> naming the first bad field.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegative(MaxThinkingTokens, nameof(MaxThinkingTokens));
        ArgumentOutOfRangeException.ThrowIfNegative(MinThinkingTokens, nameof(MinThinkingTokens));
        ArgumentOutOfRangeException.ThrowIfNegative(MaxForcings, nameof(MaxForcings));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxAnswerTokens, nameof(MaxAnswerTokens));
        if (string.IsNullOrEmpty(Cue) || Cue.Contains(ThinkingFormat.Close, StringComparison.Ordinal))
            throw new ArgumentException("The cue must be non-empty and must not contain the close marker.", nameof(Cue));
    }
}
