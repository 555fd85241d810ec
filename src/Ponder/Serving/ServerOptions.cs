using Ponder.Rewards;
using Ponder.Search;

namespace Ponder.Serving;

/// <summary>How <see cref="PonderServer"/> listens, what it serves and the limits it enforces.</summary>
public sealed record ServerOptions
{
    /// <summary>Address to bind; loopback unless the model is meant to be reachable from elsewhere.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>TCP port; 0 picks a free one (see <see cref="PonderServer.BaseAddress"/>).</summary>
    public int Port { get; init; } = 8080;

    /// <summary>When set, every request must carry <c>Authorization: Bearer &lt;key&gt;</c> (401 otherwise).</summary>
    public string? ApiKey { get; init; }

    /// <summary>The model id clients name in requests and see in <c>GET /v1/models</c>.</summary>
    public string ModelName { get; init; } = "ponder";

    /// <summary>
    /// Requests waiting for the model, sampling requests and searches each counted on their own (not counting those
    /// running); one more gets 429.
    /// </summary>
    public int MaxQueue { get; init; } = 16;

    /// <summary>
    /// Whether searches run beside the decode batch, taking turns at the model a step at a time (the default), rather than
    /// alone between two of its steps (the benchmark's <c>--serve-search</c> compares the two).
    /// </summary>
    internal bool SearchesBeside { get; init; } = true;

    /// <summary>Largest <c>n</c> a request may ask for.</summary>
    public int MaxN { get; init; } = 16;

    /// <summary>Most prompts one completions request may give (an array of prompts).</summary>
    public int MaxPrompts { get; init; } = 64;

    /// <summary><c>max_tokens</c> of a request that gives none (within the context's room); a request may ask for up to that room.</summary>
    public int MaxTokens { get; init; } = 1024;

    /// <summary>Largest request body in bytes (413 beyond).</summary>
    public long MaxBodyBytes { get; init; } = 1 << 20;

    /// <summary>Most stop strings per request (OpenAI allows 4).</summary>
    public int MaxStops { get; init; } = 4;

    /// <summary>A stream that has sent nothing for this long (a search at work) gets an SSE comment line, so proxies keep it open.</summary>
    public TimeSpan KeepAlive { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>What each <c>reasoning_effort</c> runs.</summary>
    public EffortSettings Effort { get; init; } = new();

    /// <summary>Renders chat messages into the prompt.</summary>
    public IChatTemplate ChatTemplate { get; init; } = new ProblemChatTemplate();

    /// <summary>Process reward model for the plans that need one (beam search, DVTS, MCTS with PRM leaves, PRM selectors);
    /// null when the server has none. It runs on the same worker as the policy, so it need not be thread-safe.</summary>
    public IProcessReward? Prm { get; init; }

    /// <summary>Reviser model for sequential-revision plans (same tokenizer as the policy); null when the server has none.</summary>
    public Policy.Generator? Reviser { get; init; }

    /// <summary>Validated settings a compute-optimal plan chooses among (from a scaling sweep); null when the server has none.</summary>
    public IReadOnlyList<PlanEntry>? ComputePlan { get; init; }

    /// <summary>Step limits of a searched solution: tokens per step (line) and steps. The request's max_tokens bounds the whole.</summary>
    public SearchLimits StepLimits { get; init; } = new() { MaxStepTokens = 128, MaxSteps = 32 };

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad field.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Host)) throw new ArgumentException("host must not be empty");
        if (Port is < 0 or > 65535) throw new ArgumentException($"port must be in 0..65535, got {Port}");
        if (ApiKey is { Length: 0 }) throw new ArgumentException("api key must not be empty (leave it out for none)");
        if (string.IsNullOrWhiteSpace(ModelName)) throw new ArgumentException("model name must not be empty");
        if (MaxQueue < 1) throw new ArgumentException($"max queue must be ≥ 1, got {MaxQueue}");
        if (MaxN < 1) throw new ArgumentException($"max n must be ≥ 1, got {MaxN}");
        if (MaxPrompts < 1) throw new ArgumentException($"max prompts must be ≥ 1, got {MaxPrompts}");
        if (MaxTokens < 1) throw new ArgumentException($"max tokens must be ≥ 1, got {MaxTokens}");
        if (MaxBodyBytes < 1024) throw new ArgumentException($"max body bytes must be ≥ 1024, got {MaxBodyBytes}");
        if (MaxStops < 0) throw new ArgumentException($"max stops must be ≥ 0, got {MaxStops}");
        if (KeepAlive <= TimeSpan.Zero) throw new ArgumentException($"keep-alive interval must be positive, got {KeepAlive}");
        ArgumentNullException.ThrowIfNull(Effort);
        ArgumentNullException.ThrowIfNull(ChatTemplate);
        ArgumentNullException.ThrowIfNull(StepLimits);
        Effort.Validate();
        StepLimits.Validate();
    }
}
