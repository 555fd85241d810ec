using System.Text.Json.Serialization;

namespace Ponder.Policy;

/// <summary>What <c>ponder.json</c> records next to the weights: where training stood, so a run can resume and a report can cite it.</summary>
public sealed record CheckpointState
{
    /// <summary>The task spec the model was trained on, e.g. "countdown:4".</summary>
    [JsonPropertyName("task")] public string Task { get; init; } = "";
    /// <summary>Optimizer steps taken; a resumed run continues from here.</summary>
    [JsonPropertyName("step")] public long Step { get; init; }
    /// <summary>Seed of the run, so it can be reproduced.</summary>
    [JsonPropertyName("seed")] public int Seed { get; init; }
    /// <summary>What the weights are: "policy", "orm", "prm", ...</summary>
    [JsonPropertyName("kind")] public string Kind { get; init; } = "policy";
    /// <summary>Training tokens consumed so far (the x-axis of compute plots).</summary>
    [JsonPropertyName("tokens_seen")] public long TokensSeen { get; init; }
    /// <summary>Latest evaluation numbers, e.g. "eval_loss", "accuracy".</summary>
    [JsonPropertyName("metrics")] public Dictionary<string, double>? Metrics { get; init; }
    /// <summary>Trainer settings a resume must reuse (learning rate, schedule, ...), as text.</summary>
    [JsonPropertyName("extra")] public Dictionary<string, string>? Extra { get; init; }
    /// <summary>Whether <c>optimizer.safetensors</c> was written with these weights.</summary>
    [JsonPropertyName("has_optimizer_state")] public bool HasOptimizerState { get; init; }
}
