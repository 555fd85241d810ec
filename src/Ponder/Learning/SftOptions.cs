using Ponder.Policy;

namespace Ponder.Learning;

/// <summary>Settings of supervised policy initialization on gold step-by-step solutions.</summary>
public sealed record SftOptions
{
    /// <summary>Task spec (see TaskRegistry), e.g. <c>arith</c>.</summary>
    public required string Task { get; init; }
    /// <summary>Checkpoint folder written every <see cref="CheckpointEvery"/> steps and at the end.</summary>
    public required string Out { get; init; }
    /// <summary>Fine-tune this checkpoint instead of starting from scratch.</summary>
    public string? Init { get; init; }
    /// <summary>Architecture when starting from scratch.</summary>
    public TransformerConfig Model { get; init; } = new();
    /// <summary>Optimizer steps; the cosine schedule ends here.</summary>
    public int Steps { get; init; } = 2000;
    /// <summary>Solutions per step.</summary>
    public int BatchSize { get; init; } = 64;
    /// <summary>Peak learning rate; small models from scratch tolerate 3e-3.</summary>
    public double Lr { get; init; } = 3e-3;
    /// <summary>Linear warmup steps.</summary>
    public int Warmup { get; init; } = 100;
    /// <summary>AdamW decoupled weight decay on matrices.</summary>
    public double WeightDecay { get; init; } = 0.1;
    /// <summary>Global gradient-norm clip.</summary>
    public double GradClip { get; init; } = 1.0;
    /// <summary>Held-out greedy evaluation period in steps (0: only at the end).</summary>
    public int EvalEvery { get; init; } = 250;
    /// <summary>Held-out problems in each evaluation.</summary>
    public int EvalCount { get; init; } = 200;
    /// <summary>Checkpoint period in steps (0: only at the end).</summary>
    public int CheckpointEvery { get; init; } = 1000;
    /// <summary>Seeds initialization and the data order (batch k is a function of seed and k).</summary>
    public int Seed { get; init; } = 1;
    /// <summary>Continue from the checkpoint in <see cref="Out"/>, exactly where it stopped.</summary>
    public bool Resume { get; init; }
    /// <summary>Stop early (with a checkpoint) after this much wall time; 0 means no limit.</summary>
    public double MaxMinutes { get; init; }
    /// <summary>
    /// Run norms, gating and attention in Ponder's C# autograd nodes (<see cref="Policy.Transformer.TrainingKernels"/>; the
    /// default since the twentieth stop, where they apply: CPU, float32); false runs libtorch's ops.
    /// </summary>
    public bool TrainingKernels { get; init; } = true;
    /// <summary>
    /// Each step's examples packed (<see cref="SftBatch.Pack"/> through <see cref="SupervisedStep.Run"/>; the default): on
    /// the C# training nodes into one row, on libtorch's attention into rows as wide as the longest where that saves rows;
    /// the same loss in fewer positions. False pads them to rows.
    /// </summary>
    public bool Pack { get; init; } = true;
}
