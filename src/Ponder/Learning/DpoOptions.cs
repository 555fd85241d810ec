namespace Ponder.Learning;

/// <summary>
/// Settings of DPO on preference pairs drawn from the current policy each step: (correct, incorrect) solutions of the
/// same problem, or step-level pairs from search trees (<see cref="Pairs"/>).
/// </summary>
public sealed record DpoOptions
{
    public required string Policy { get; init; }
    public required string Out { get; init; }
    public string? Task { get; init; }
    /// <summary>Optimizer steps.</summary>
    public int Steps { get; init; } = 100;
    /// <summary>Problems sampled per step; each with at least one right and one wrong sample gives a pair.</summary>
    public int ProblemsPerStep { get; init; } = 32;
    public int SamplesPerProblem { get; init; } = 8;
    /// <summary>Whole-solution pairs, step-level pairs from MCTS trees, or a file's pairs.</summary>
    public DpoPairs Pairs { get; init; } = DpoPairs.Outcome;
    /// <summary>With <see cref="DpoPairs.File"/>: the JSON-lines preference file; <see cref="ProblemsPerStep"/> of its pairs make a step.</summary>
    public string? PairsFile { get; init; }
    /// <summary>Step pairs: MCTS simulations per problem (each a verifier-valued rollout).</summary>
    public int Simulations { get; init; } = 16;
    /// <summary>Step pairs: next steps sampled where the tree expands a node.</summary>
    public int Expansions { get; init; } = 4;
    /// <summary>Step pairs: the least difference of mean value between the preferred and the rejected step.</summary>
    public double MinGap { get; init; } = 0.5;
    public double Temperature { get; init; } = 1.0;
    /// <summary>β: strength of the implicit KL constraint to the reference (higher stays closer).</summary>
    public double Beta { get; init; } = 0.1;
    /// <summary>
    /// α of RPO (Pang et al. 2024; TRL's <c>rpo_alpha</c>): adds α times the chosen completions' mean token negative
    /// log-likelihood to the loss, so that pushing the rejected ones down does not pull the chosen ones down with them
    /// (offline pairs otherwise can). 0: plain DPO.
    /// </summary>
    public double RpoAlpha { get; init; }
    /// <summary>
    /// λ of DPO-Positive (DPOP, Pal et al. 2024): each pair's margin is lowered by λ · max(0, log π_ref(y_w) − log π(y_w)),
    /// so the loss cannot fall by pushing the chosen completion below the reference, which pairs a few tokens apart
    /// otherwise do. 0: off.
    /// </summary>
    public double DpopLambda { get; init; }
    /// <summary>The loss on each pair's margin: DPO's sigmoid (the default), IPO or hinge.</summary>
    public DpoLoss Loss { get; init; } = DpoLoss.Sigmoid;
    /// <summary>
    /// Learning rate. Measured on the shipped arith policy, 48 steps of 16 problems × 8 samples (100 held-out
    /// problems, greedy 56.0% at the start): 3e-5 → 58.0%; 3e-4 → 11.0%.
    /// </summary>
    public double Lr { get; init; } = 3e-5;
    public double GradClip { get; init; } = 1.0;
    public int EvalEvery { get; init; } = 25;
    public int EvalCount { get; init; } = 200;
    public int Seed { get; init; } = 1;
    /// <summary>Save a checkpoint (weights and optimizer state) every this many steps (0: at the end only).</summary>
    public int CheckpointEvery { get; init; } = 25;
    /// <summary>Continue the run saved in <see cref="Out"/> from its last checkpoint, exactly.</summary>
    public bool Resume { get; init; }
    /// <summary>Run the gradient passes' norms, gating and attention through Ponder's C# autograd nodes (<see cref="Policy.Transformer.TrainingKernels"/>; the default); false runs libtorch's ops.</summary>
    public bool TrainingKernels { get; init; } = true;
}
