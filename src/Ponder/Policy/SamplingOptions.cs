namespace Ponder.Policy;

/// <summary>How to pick next tokens and when a row ends. Defaults sample from the plain model distribution.</summary>
public sealed record SamplingOptions
{
    /// <summary>
    /// Divides the logits; 0 means greedy argmax (deterministic), 1 the model's own distribution. Temperatures below
    /// <see cref="GreedyBelow"/> are greedy too (as vLLM treats them): dividing by them would overflow the logits.
    /// </summary>
    public double Temperature { get; init; } = 1.0;

    /// <summary>Temperatures below this pick greedily (vLLM's sampling epsilon).</summary>
    public const double GreedyBelow = 1e-5;

    /// <summary>Whether <paramref name="temperature"/> picks the most likely token rather than sampling.</summary>
    public static bool Greedy(double temperature) => temperature < GreedyBelow;

    /// <summary>Keep only the k most likely tokens before sampling; 0 turns it off.</summary>
    public int TopK { get; init; }

    /// <summary>Nucleus: keep the smallest set of most likely tokens whose mass reaches p (at least one); 1 turns it off.</summary>
    public double TopP { get; init; } = 1.0;

    /// <summary>Most tokens generated per row (EOS and stop-string tokens included).</summary>
    public int MaxNewTokens { get; init; } = 256;

    /// <summary>
    /// A row ends as soon as its generated text ends with one of these; the stop string stays in the returned
    /// tokens and text (so a tree search can continue after a step's newline).
    /// </summary>
    public IReadOnlyList<string> Stop { get; init; } = [];

    /// <summary>Seeds the sampling noise: the same seed and inputs give the same tokens.</summary>
    public long Seed { get; init; }

    /// <summary>
    /// Keep going after EOS (it stays in the tokens), so every row runs to <see cref="MaxNewTokens"/> unless a stop
    /// string ends it: fixed-length generation for throughput measurements (vLLM's <c>ignore_eos</c>).
    /// </summary>
    public bool IgnoreEos { get; init; }

    /// <summary>Token ids that end a row as EOS does, beyond the model's own end tokens (vLLM's <c>stop_token_ids</c>).</summary>
    public IReadOnlyList<int> StopTokenIds { get; init; } = [];

    /// <summary>
    /// Called when a row's newest token completes a line (its text holds a newline), with the row's index in the call
    /// and its generated text up to that line's end; true ends the row there (<see cref="FinishReason.Abandoned"/>).
    /// A caller that can check steps stops rows that can no longer succeed: rejection sampling pays no tokens after a
    /// wrong step. Null: no row is abandoned.
    /// </summary>
    public Func<int, string, bool>? Abandon { get; init; }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> or <see cref="ArgumentException"/> naming the first bad field.</summary>
    public void Validate()
    {
        if (!(Temperature >= 0) || double.IsInfinity(Temperature))
            throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature, "Temperature must be finite and ≥ 0.");
        ArgumentOutOfRangeException.ThrowIfNegative(TopK, nameof(TopK));
        if (!(TopP > 0 && TopP <= 1))
            throw new ArgumentOutOfRangeException(nameof(TopP), TopP, "TopP must be in (0, 1].");
        ArgumentOutOfRangeException.ThrowIfNegative(MaxNewTokens, nameof(MaxNewTokens));
        ArgumentNullException.ThrowIfNull(Stop, nameof(Stop));
        if (Stop.Any(string.IsNullOrEmpty)) throw new ArgumentException("Stop strings must be non-empty.", nameof(Stop));
    }
}
