namespace Ponder.Learning;

/// <summary>Settings of <see cref="RevisionTrainer"/>.</summary>
public sealed record RevisionOptions
{
    /// <summary>The policy whose wrong attempts are revised; the reviser starts from its weights.</summary>
    public required string Init { get; init; }

    /// <summary>Checkpoint folder of the reviser.</summary>
    public required string Out { get; init; }

    /// <summary>
    /// Positions the reviser takes (its max_position_embeddings); null: the policy's own. Revision prompts hold the
    /// problem and a whole attempt, so a policy trained for its problems alone may need more (the shipped 160-position
    /// policy does: 256 fits).
    /// </summary>
    public int? Context { get; init; }

    /// <summary>Task spec; null: the policy's own task.</summary>
    public string? Task { get; init; }

    /// <summary>Train-split problems the policy attempts once each; its wrong attempts become the training pairs.</summary>
    public int Problems { get; init; } = 3000;

    /// <summary>Sampling temperature of the attempts.</summary>
    public double Temperature { get; init; } = 1.0;

    /// <summary>Optimizer steps.</summary>
    public int Steps { get; init; } = 600;

    /// <summary>Pairs per step.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Peak learning rate (warmup, then cosine).</summary>
    public double Lr { get; init; } = 1e-3;

    public int Warmup { get; init; } = 50;

    public int Seed { get; init; } = 1;

    /// <summary>Run the gradient passes' norms, gating and attention through Ponder's C# autograd nodes (<see cref="Policy.Transformer.TrainingKernels"/>; the default); false runs libtorch's ops.</summary>
    public bool TrainingKernels { get; init; } = true;
    /// <summary>Each step's pairs packed (<see cref="SftBatch.Pack"/>; the default): the same loss, no padding positions; false pads them to rows.</summary>
    public bool Pack { get; init; } = true;
}
