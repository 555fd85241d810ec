namespace Ponder.Learning;

/// <summary>
/// Settings of expert iteration (STaR / ReST-EM): sample → keep verified-correct → SFT, for several rounds. The defaults
/// are the STaR protocol measured on the shipped arith policy (docs/learning/note.md): restart from the start policy each
/// round, train on every round's solutions so far, 6.2 epochs over the set; held-out greedy on 1,000 problems
/// 47.4 → 51.8 → 54.0 → 54.9%, against 51.8 → 54.3 → 53.0% when each round continues the previous model.
/// </summary>
public sealed record ExpertIterationOptions
{
    public required string Policy { get; init; }
    public required string Out { get; init; }
    public string? Task { get; init; }
    public int Rounds { get; init; } = 3;
    /// <summary>Train problems the expert attempts each round.</summary>
    public int ProblemsPerRound { get; init; } = 2048;
    /// <summary>Expert attempts per problem (best-of-N sampling as the expert); with the MCTS expert, its simulations per problem.</summary>
    public int SamplesPerProblem { get; init; } = 4;
    /// <summary>
    /// When set (above <see cref="SamplesPerProblem"/>), the sampling expert draws again for the problems that have fewer than
    /// <see cref="KeepPerProblem"/> correct attempts, doubling the draws each pass, until they have them or have had this many
    /// attempts: hard problems get the samples that easy ones do not need (DART-Math's uniform rejection sampling, Tong et al.
    /// 2024). Null: <see cref="SamplesPerProblem"/> attempts for every problem.
    /// </summary>
    public int? MaxSamples { get; init; }
    public double Temperature { get; init; } = 1.0;
    /// <summary>Who proposes solutions: samples of the policy (the default), flips of its least certain tokens, MCTS, or gold.</summary>
    public ExpertKind Expert { get; init; } = ExpertKind.Sample;
    /// <summary>With <see cref="ExpertKind.Flip"/>: least certain tokens of a wrong greedy completion that are flipped.</summary>
    public int FlipPositions { get; init; } = 6;
    /// <summary>With <see cref="ExpertKind.Flip"/>: the policy's next-best tokens tried at each flipped position.</summary>
    public int FlipAlternatives { get; init; } = 2;
    /// <summary>With the MCTS expert: next steps sampled where a tree expands a node (its simulations are <see cref="SamplesPerProblem"/>).</summary>
    public int Expansions { get; init; } = 4;
    /// <summary>
    /// Keep a solution only if every step is right as well as the final answer (tasks with a step checker). Off: the
    /// verifier's final-answer check alone, which also keeps the few solutions whose steps err and cancel out.
    /// </summary>
    public bool StrictSteps { get; init; }
    /// <summary>At most this many distinct correct solutions kept per problem (limits easy problems' weight).</summary>
    public int KeepPerProblem { get; init; } = 1;
    /// <summary>SFT steps on the kept solutions in round 1 (later rounds: see <see cref="StepsGrowth"/>, <see cref="Epochs"/>).</summary>
    public int StepsPerRound { get; init; } = 120;
    /// <summary>Round r trains round(StepsPerRound × StepsGrowth^(r−1)) steps (STaR grows them ~20% a round).</summary>
    public double StepsGrowth { get; init; } = 1.0;
    /// <summary>
    /// When set, each round trains ceil(Epochs × training-set size / BatchSize) steps instead (steps follow the data);
    /// null: <see cref="StepsPerRound"/> and <see cref="StepsGrowth"/>. 6.2 epochs are 120 steps on round 1's ~1,230 solutions.
    /// </summary>
    public double? Epochs { get; init; } = 6.2;
    /// <summary>Continue from the previous round's model, or restart from <see cref="Policy"/> each round (STaR, ReST-EM).</summary>
    public ExpertRestart Restart { get; init; } = ExpertRestart.Base;
    /// <summary>Train on every round's verified solutions so far (deduplicated), not just this round's (STaR's growing set).</summary>
    public bool Accumulate { get; init; } = true;
    public int BatchSize { get; init; } = 64;
    /// <summary>
    /// Learning rate (after <see cref="Warmup"/>). Measured on the shipped arith policy (held-out greedy 55.5%), 2,048
    /// problems × 4 samples, 80 steps a round: 5e-5 → 57.0, 60.0, 59.5% after rounds 1–3; 3e-4 → 53.0, 52.0%;
    /// 5e-4 with 150 steps a round → 40.0% after round 1. Small kept sets are learned by heart at high rates.
    /// </summary>
    public double Lr { get; init; } = 5e-5;
    /// <summary>Linear warmup over the first optimizer steps of the run (the optimizer starts fresh).</summary>
    public int Warmup { get; init; } = 20;
    /// <summary>
    /// How the rate falls over each round's steps after the warmup, to <see cref="MinLrFraction"/> of the peak at the round's
    /// last step (TRL's <c>lr_scheduler_type</c>). Constant (the default) stays at <see cref="Lr"/>.
    /// </summary>
    public LrDecay Decay { get; init; } = LrDecay.Constant;
    /// <summary>The decay's floor as a fraction of <see cref="Lr"/> (SFT's cosine uses 0.1).</summary>
    public double MinLrFraction { get; init; } = 0.1;
    public double GradClip { get; init; } = 1.0;
    public int EvalCount { get; init; } = 200;
    public int Seed { get; init; } = 1;
    /// <summary>Continue after the last completed round saved in <see cref="Out"/>.</summary>
    public bool Resume { get; init; }
    /// <summary>
    /// Run the fine-tuning steps' norms, gating and attention through Ponder's C# autograd nodes
    /// (<see cref="Policy.Transformer.TrainingKernels"/>; the default); false runs libtorch's ops.
    /// </summary>
    public bool TrainingKernels { get; init; } = true;
    /// <summary>Each fine-tuning step's examples packed, as <see cref="SftOptions.Pack"/> (the default); false pads them to rows.</summary>
    public bool Pack { get; init; } = true;
    /// <summary>
    /// The command-line arguments that started the run (saved in its checkpoints, <c>extra.command</c>, so that a
    /// <c>--resume</c> continues with every setting it started with); null when it was not started from a command line.
    /// </summary>
    public IReadOnlyList<string>? Command { get; init; }
}
