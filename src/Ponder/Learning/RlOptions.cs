using Ponder.Rewards;

namespace Ponder.Learning;

/// <summary>Settings of policy-gradient RL from a policy checkpoint on a task's verifier reward.</summary>
public sealed record RlOptions
{
    /// <summary>Start (and reference) policy checkpoint.</summary>
    public required string Policy { get; init; }
    /// <summary>Output checkpoint folder (also what <see cref="Resume"/> continues).</summary>
    public required string Out { get; init; }
    /// <summary>Task spec; defaults to the policy's own task.</summary>
    public string? Task { get; init; }
    public RlAlgorithm Algorithm { get; init; } = RlAlgorithm.Grpo;
    /// <summary>Rollout batches (one or more optimizer steps each).</summary>
    public int Steps { get; init; } = 200;
    /// <summary>Distinct prompts per batch.</summary>
    public int PromptsPerStep { get; init; } = 16;
    /// <summary>Samples per prompt (the group of GRPO and RLOO); the batch holds PromptsPerStep × GroupSize rollouts.</summary>
    public int GroupSize { get; init; } = 8;
    /// <summary>Optimizer steps on each batch of rollouts (ratio clipping keeps them safe).</summary>
    public int EpochsPerBatch { get; init; } = 1;
    /// <summary>
    /// Peak learning rate (constant after a short warmup); RL from a trained policy wants it small. Measured on the
    /// shipped policy (SFT peak 3e-3): GRPO at 3e-4 fell from 55.5% to 20% held-out greedy in 250 batches, at 3e-5 it
    /// rose to 59.5% in 120.
    /// </summary>
    public double Lr { get; init; } = 3e-5;
    public int Warmup { get; init; } = 10;
    /// <summary>How the rate falls after the warmup, to 0 at <see cref="Steps"/> (constant: not at all).</summary>
    public LrDecay Decay { get; init; } = LrDecay.Constant;
    /// <summary>
    /// DAPO's dynamic sampling (Yu et al. 2025): drop groups whose rewards are all equal (all right or all wrong: zero
    /// advantage) and draw more prompts, up to <see cref="MaxDraws"/> draws a step, until the batch is full.
    /// </summary>
    public bool DynamicSampling { get; init; }
    /// <summary>Most draws of PromptsPerStep prompts per step under dynamic sampling (a short batch is used as it is).</summary>
    public int MaxDraws { get; init; } = 4;
    /// <summary>
    /// Guided groups (0: off). A group none of whose rollouts solves its prompt draws more samples of that prompt,
    /// doubling its draws up to this many in all, and the first sample that solves it takes the place of the group's last
    /// rollout. Hard problems then give the policy a right answer to learn from where a plain group gives none, as
    /// DART-Math's rejection sampling does for SFT data; every rollout is still the current policy's own sample. GRPO and
    /// RLOO only. Measured on the shipped policy (64 × 4, cosine from 3e-4, strict steps, 300 batches): 63.0% held-out
    /// greedy with 64, 60.5% without.
    /// </summary>
    public int MaxSamples { get; init; }
    /// <summary>
    /// Weight of a supervised term added to the loss: the mean negative log-likelihood of the solutions that guided groups
    /// found (<see cref="MaxSamples"/>), so the hardest problems' solutions are also imitated, as ReLIFT interleaves SFT
    /// on the hardest questions with RL (Ma et al. 2025). 0: the algorithm alone.
    /// </summary>
    public double SftCoef { get; init; }
    /// <summary>
    /// Supervised steps after each RL update (0: none): each is an SFT optimizer step, at the same rate, on
    /// <see cref="SftBatch"/> solutions drawn uniformly (with replacement) from the pool of solutions found so far
    /// (<see cref="SftPool"/>), so each is imitated again and again as the epochs of expert iteration's SFT do. RL and SFT
    /// steps interleave as in ReLIFT (Ma et al. 2025), with the policy's own verified solutions in place of a stronger
    /// model's. The pool is kept in the run's guided.jsonl. Measured on the shipped policy: below guided groups alone at
    /// every rate tried (the high rate SFT needs sets back the policy that fills the pool; docs/learning/note.md).
    /// </summary>
    public int SftSteps { get; init; }
    /// <summary>Solutions per supervised step (<see cref="SftSteps"/>).</summary>
    public int SftBatch { get; init; } = 64;
    /// <summary>
    /// What the supervised steps replay: only the solutions guided groups found (the hardest problems', as ReLIFT), or
    /// every rollout that solved its problem, guided or not (as expert iteration keeps them), each distinct solution once.
    /// </summary>
    public SftPool SftPool { get; init; } = SftPool.Guided;
    /// <summary>
    /// With <see cref="SftPool.Start"/> or <see cref="ReplayStart"/>: the train problems the start policy attempts before RL, one sample each and then
    /// doubling, up to <see cref="PoolMaxSamples"/>, for those still unsolved (expert iteration's sampler; with
    /// <see cref="RewardShaping.StrictSteps"/> a solution must have every step right).
    /// </summary>
    public int PoolProblems { get; init; } = 8192;
    /// <summary>With <see cref="SftPool.Start"/> or <see cref="ReplayStart"/>: most attempts at one problem.</summary>
    public int PoolMaxSamples { get; init; } = 64;
    /// <summary>
    /// Experience replay of the start policy's solutions inside GRPO's groups (as ExGRPO, Zhan et al. 2025, replays
    /// earlier verified solutions): the start pool (<see cref="PoolProblems"/>, <see cref="PoolMaxSamples"/>, sampled
    /// before step 1 as for <see cref="SftPool.Start"/>) is where each step's prompts come from, in a seeded shuffle a pass
    /// over it at a time, and a group none of whose own rollouts solves its problem takes the start policy's verified
    /// solution as its last rollout. That solution then gets the group's advantage in the policy-gradient loss, as a guided
    /// group's does (<see cref="MaxSamples"/>), without the sampling that finding it costs there, and it is used again
    /// each pass for as long as the policy still fails the problem. GRPO and RLOO. The KL term leaves replayed rows out:
    /// its estimators assume the policy's own samples. Measured on the shipped policy (64 × 4, 280 steps, cosine from
    /// 3e-4): +4.6 points of held-out greedy on 500 problems, below guided groups' +8.2 (docs/learning/note.md).
    /// </summary>
    public bool ReplayStart { get; init; }
    /// <summary>
    /// Peak rate of the supervised steps (<see cref="SftSteps"/>), on the RL rate's schedule; null: <see cref="Lr"/>.
    /// Supervised steps take rates (1e-3) at which policy-gradient steps fall (docs/learning/note.md).
    /// </summary>
    public double? SftLr { get; init; }
    /// <summary>
    /// Each prompt's group branches from one point of its greedy completion: the token where the policy is least sure
    /// (highest entropy). The GroupSize rollouts keep the greedy tokens before it and sample that token and the rest, so
    /// the group's rewards compare choices at the point where greedy decoding can go wrong (entropy-guided branching, as
    /// in FR3E and ARPO). GRPO and RLOO only.
    /// </summary>
    public bool BranchAtEntropy { get; init; }
    /// <summary>
    /// With <see cref="BranchAtEntropy"/>: sample only the branch token and continue each rollout greedily, so a group's
    /// rewards judge the choices at that token alone (a sampling slip later on cannot hide a right choice). The branch
    /// token is then the only action: the greedy continuation judges it and carries no policy-gradient term (the KL
    /// and entropy terms still cover every token).
    /// </summary>
    public bool BranchThenGreedy { get; init; }
    /// <summary>Sampling temperature of the rollouts.</summary>
    public double Temperature { get; init; } = 1.0;
    /// <summary>PPO clip range ε of the ratio.</summary>
    public double ClipEps { get; init; } = 0.2;
    /// <summary>Upper clip ε_high of the ratio (DAPO's clip-higher: bound 1+ε_high, the lower stays 1−ε); null means ε.</summary>
    public double? ClipEpsHigh { get; init; }
    /// <summary>
    /// Fraction of each batch's action tokens, those of highest policy entropy, that carry the policy gradient (1: all;
    /// Wang et al. 2025 keep 0.2). The KL penalty stays on every token.
    /// </summary>
    public double TopEntropy { get; init; } = 1.0;
    /// <summary>KL penalty weight β to the frozen start policy.</summary>
    public double KlCoef { get; init; } = 0.02;
    public KlEstimator Kl { get; init; } = KlEstimator.K3;
    /// <summary>Entropy bonus weight.</summary>
    public double EntropyCoef { get; init; }
    public LossAggregation Aggregation { get; init; } = LossAggregation.Token;
    /// <summary>GRPO divides by the group's reward std; false, with <see cref="LossAggregation.Constant"/>, gives Dr. GRPO.</summary>
    public bool NormalizeStd { get; init; } = true;
    /// <summary>PPO discount and GAE λ.</summary>
    public double Gamma { get; init; } = 1.0;
    public double Lambda { get; init; } = 0.95;
    /// <summary>PPO value-loss weight (TRL's <c>vf_coef</c> is 0.1).</summary>
    public double ValueCoef { get; init; } = 0.5;
    /// <summary>
    /// PPO: the value loss takes the larger of the squared errors of the new value and of the rollout's value moved by at
    /// most this much (TRL's <c>cliprange_value</c>, 0.2 there); 0 leaves it unclipped.
    /// </summary>
    public double ValueClip { get; init; }
    /// <summary>REINFORCE baseline: exponential moving average of batch rewards with this decay.</summary>
    public double BaselineDecay { get; init; } = 0.9;
    public RewardShaping Shaping { get; init; } = new();
    /// <summary>Weight of the outcome (verifier) advantage.</summary>
    public double OutcomeCoef { get; init; } = 1.0;
    /// <summary>
    /// Weight of negative outcome advantages in the group algorithms (GRPO, RLOO, REINFORCE): 1 is the algorithm as
    /// published, 0 learns from better-than-average rollouts only (as rejection-sampling fine-tuning does, online).
    /// </summary>
    public double NegativeWeight { get; init; } = 1.0;
    /// <summary>Weight of the process (PRM) advantage or dense reward, used when the trainer is given a PRM.</summary>
    public double ProcessCoef { get; init; } = 1.0;
    public double GradClip { get; init; } = 1.0;
    /// <summary>
    /// AdamW's ε. At the default a weight moves by about the rate whatever its gradient's size; a larger ε damps the
    /// steps of weights whose gradients are smaller than it (as plain SGD would) and leaves larger ones as they are.
    /// </summary>
    public double AdamEps { get; init; } = 1e-8;
    public int EvalEvery { get; init; } = 25;
    public int EvalCount { get; init; } = 200;
    public int CheckpointEvery { get; init; } = 50;
    public int Seed { get; init; } = 1;
    public bool Resume { get; init; }
    /// <summary>Stop early (with a checkpoint) after this much wall time; 0 means no limit.</summary>
    public double MaxMinutes { get; init; }
    /// <summary>Run the policy's gradient passes through Ponder's C# autograd nodes (<see cref="Policy.Transformer.TrainingKernels"/>; the default); false runs libtorch's ops.</summary>
    public bool TrainingKernels { get; init; } = true;
    /// <summary>
    /// The command-line arguments that started the run (saved in its checkpoints, <c>extra.command</c>, so that a
    /// <c>--resume</c> continues with every setting it started with); null when it was not started from a command line.
    /// </summary>
    public IReadOnlyList<string>? Command { get; init; }
}

/// <summary>The solutions <see cref="RlOptions.SftSteps"/> replay.</summary>
public enum SftPool
{
    /// <summary>The solutions guided groups found (<see cref="RlOptions.MaxSamples"/>).</summary>
    Guided,
    /// <summary>Every rollout that solved its problem, guided or not.</summary>
    Verified,
    /// <summary>
    /// The start policy's verified solutions to <see cref="RlOptions.PoolProblems"/> train problems, sampled once before
    /// RL as expert iteration samples them (offline), and never added to: the policy being trained does not fill it.
    /// Measured on the shipped policy (12 SFT steps at 1e-3 after each of 100 GRPO updates at 3e-4, strict steps): 52.0 →
    /// 78.0% held-out greedy on 500 problems in 17.7 minutes on 2 cores, against 77.6% for the same SFT steps without
    /// the GRPO updates (docs/learning/note.md).
    /// </summary>
    Start,
}
