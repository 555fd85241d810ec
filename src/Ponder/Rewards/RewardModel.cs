using Ponder.Policy;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace Ponder.Rewards;

/// <summary>
/// A reward model: the Llama trunk of a policy (<c>model.*</c>, final-normed hidden states) and a scalar head
/// <c>score.weight</c> (1, C) without bias, as Hugging Face <c>LlamaForSequenceClassification</c> with one label,
/// plus a likelihood head <c>likelihood.weight</c> (1, 2). The logit at a token is
/// <c>score·h_t + likelihood·[Σ log p, min log p]</c>, the sum and minimum running over the solution's tokens up to
/// t, under the trunk's own language-model head (<c>lm_head.weight</c>, or the embedding when tied); its sigmoid is P(correct) of the text up to t.
/// </summary>
/// <remarks>
/// The likelihood features make the trunk's generative knowledge usable from the first step: a policy's
/// log-probability of its own step is already a verifier (measured on the shipped arith policy: step AUC 0.84
/// against gold labels with no training, where a head on the hidden state alone reached 0.77 after training).
/// Training moves both heads and the trunk, so the features become what the data says a step's plausibility is.
/// <see cref="FromPolicy"/> starts the likelihood weights at (1, 0): the initial score is the solution's log-probability.
/// Where the score is read is the caller's choice (<see cref="StepText"/>): an ORM at the end of a complete
/// solution, a PRM at the end of every step. Because attention is causal, one forward pass over a whole
/// solution gives every step prefix's score, and right padding is harmless.
/// </remarks>
public sealed class RewardModel : nn.Module<Tensor, Tensor>
{
    /// <summary>HF name of the head; its shape must be (1, hidden_size).</summary>
    public const string HeadName = "score.weight";

    /// <summary>Name of the likelihood head (1, 2): weights of the running log-probability sum and minimum.</summary>
    public const string LikelihoodName = "likelihood.weight";

    /// <summary>The <c>architectures</c> entry of a reward model's config.json.</summary>
    public const string Architecture = "LlamaForSequenceClassification";

    [ComponentName(Name = "model")] private readonly Decoder _model;
    [ComponentName(Name = "score")] private readonly Linear _score;
    [ComponentName(Name = "likelihood")] private readonly Linear _likelihood;
    [ComponentName(Name = "lm_head")] private readonly Linear? _lmHead;
    private readonly Rotary _rotary;

    /// <summary>Builds the trunk from <paramref name="config"/> (weights to be loaded) and zero heads (P = 0.5 everywhere).</summary>
    public RewardModel(TransformerConfig config) : base(nameof(RewardModel))
    {
        ArgumentNullException.ThrowIfNull(config);
        Config = config with { Architectures = [Architecture] };
        _model = new Decoder(Config, null);
        _lmHead = Config.TieWordEmbeddings ? null : nn.Linear(config.HiddenSize, config.VocabSize, hasBias: false);
        _score = nn.Linear(config.HiddenSize, 1, hasBias: false);
        _likelihood = nn.Linear(2, 1, hasBias: false);
        _rotary = new Rotary(Config.HeadDim, Config.MaxPositions, Config.RopeTheta, Config.RopeScaling);
        RegisterComponents();
        using var noGrad = no_grad();
        _score.weight!.zero_();
        _likelihood.weight!.zero_();
    }

    public TransformerConfig Config { get; }

    public Device Device => _score.weight!.device;

    /// <summary>Trainable parameters.</summary>
    public long ParameterCount => parameters().Sum(p => p.numel());

    /// <summary>
    /// Forward FLOPs for one token at a context of <paramref name="contextLength"/> tokens: 2 per weight of every
    /// matmul (all parameters: the language-model head of the likelihood features is one, tied or not) plus
    /// 2·layers·context·hidden for attention.
    /// </summary>
    public double FlopsPerToken(int contextLength)
    {
        var c = Config;
        return 2.0 * ParameterCount + 2.0 * c.NumLayers * contextLength * c.HiddenSize;
    }

    /// <summary>
    /// A reward model whose trunk is a copy of <paramref name="policy"/>'s; the hidden-state head starts at zero and
    /// the likelihood head at (1, 0), or at zero and frozen when <paramref name="likelihoodFeatures"/> is false.
    /// </summary>
    public static RewardModel FromPolicy(Policy.Transformer policy, bool likelihoodFeatures = true)
    {
        ArgumentNullException.ThrowIfNull(policy);
        var rm = new RewardModel(policy.Config);
        var source = policy.named_parameters().ToDictionary(p => p.name, p => p.parameter, StringComparer.Ordinal);
        using var noGrad = no_grad();
        foreach (var (name, p) in rm.named_parameters())
        {
            if (name is HeadName or LikelihoodName) continue;
            p.copy_(source[name]);
        }
        if (likelihoodFeatures) rm._likelihood.weight![0, 0] = 1f;
        else rm.FreezeLikelihood();
        rm.to(policy.Device);
        return rm;
    }

    /// <summary>True when the likelihood head has weight (a model trained without the features keeps it at zero).</summary>
    public bool UsesLikelihood => _likelihood.weight!.abs().sum().item<float>() > 0;

    /// <summary>Stops training the likelihood head (with zero weights: a hidden-state head only).</summary>
    public void FreezeLikelihood() => _likelihood.weight!.requires_grad_(false);

    /// <summary>Score logits (B, T) at every position of <paramref name="inputIds"/> (B, T), the solution taken to start after BOS.</summary>
    public override Tensor forward(Tensor inputIds) =>
        Scores(inputIds, ones(inputIds.shape[0], ScalarType.Int64, inputIds.device));

    /// <summary>Score logits (B, T) at every position; row b's solution starts at token <paramref name="starts"/>[b] (B, int64).</summary>
    public Tensor Scores(Tensor inputIds, Tensor starts)
    {
        using var scope = NewDisposeScope();
        var hidden = Hidden(inputIds);                                                // (B, T, C)
        var logits = _score.call(hidden) + _likelihood.call(Features(hidden, inputIds, starts));   // (B, T, 1)
        return logits.squeeze(-1).MoveToOuterDisposeScope();                          // (B, T)
    }

    /// <summary>
    /// Score logits (N) read at <paramref name="rows"/>[n], <paramref name="positions"/>[n] (both (N) int64) of
    /// <paramref name="inputIds"/> (B, T) whose row b's solution starts at <paramref name="starts"/>[b] (B): the heads
    /// run only where a score is wanted.
    /// </summary>
    public Tensor ScoresAt(Tensor inputIds, Tensor starts, Tensor rows, Tensor positions)
    {
        using var scope = NewDisposeScope();
        var hidden = Hidden(inputIds);                                                // (B, T, C)
        var (b, t, c) = (hidden.shape[0], hidden.shape[1], hidden.shape[2]);
        var flat = rows * t + positions;                                              // (N)
        var picked = hidden.reshape(b * t, c).index_select(0, flat);                  // (N, C)
        var features = Features(hidden, inputIds, starts).reshape(b * t, 2).index_select(0, flat); // (N, 2)
        return (_score.call(picked) + _likelihood.call(features)).squeeze(-1).MoveToOuterDisposeScope(); // (N)
    }

    /// <summary>
    /// Running sum and minimum (B, T, 2) of the log-probability of each solution token under the trunk's language-model
    /// head (the tied embedding), over tokens from <paramref name="starts"/>[b] to t; both are 0 before the start.
    /// </summary>
    Tensor Features(Tensor hidden, Tensor inputIds, Tensor starts)
    {
        var t = inputIds.shape[1];
        var next = NextTokenLogProbs(LanguageModelLogProbs(hidden), inputIds);                                // (B, T−1): log p(x_{t+1})
        var tokenLogp = nn.functional.pad(next, [1, 0]);                                                     // (B, T): log p(x_t), 0 at t = 0
        var inSolution = arange(t, ScalarType.Int64, inputIds.device).unsqueeze(0).ge(starts.unsqueeze(1)); // (B, T)
        var (sum, min) = Running(tokenLogp * inSolution.to(tokenLogp.dtype), null);                          // (B, T) each
        return stack([sum, min], -1);                                                                        // (B, T, 2)
    }

    /// <summary>log p(x_{t+1}) (B, T−1) of each next token of <paramref name="inputIds"/> (B, T) under <paramref name="logp"/> (B, T, V).</summary>
    static Tensor NextTokenLogProbs(Tensor logp, Tensor inputIds) =>
        logp[.., ..^1].gather(-1, inputIds[.., 1..].unsqueeze(-1)).squeeze(-1);

    /// <summary>Running sum and minimum (B, T) of token log-probabilities (B, T), continuing <paramref name="state"/>'s when given.</summary>
    static (Tensor Sum, Tensor Min) Running(Tensor tokenLogp, LikelihoodState? state)
    {
        var (sum, min) = (tokenLogp.cumsum(1), tokenLogp.cummin(1).values);
        return state is null ? (sum, min) : (sum + state.Sum.unsqueeze(1), minimum(min, state.Min.unsqueeze(1)));
    }

    /// <summary>An empty KV cache on this model's device and dtype, for <see cref="ScoresAppended"/>.</summary>
    public KvCache NewCache(int batch, int capacity) => new(Config, batch, capacity, Device, _score.weight!.dtype);

    /// <summary>
    /// Score logits (B, T) of tokens <paramref name="inputIds"/> (B, T) appended to <paramref name="cache"/>, which
    /// keeps their keys and values: a prefix scored once is never run again. <paramref name="valid"/> (B, T) bool marks
    /// real tokens (null: all; padding only at the right end of a row); padding neither attends nor is attended to.
    /// Same attention as the policy's cached path. <paramref name="state"/> carries the likelihood features across
    /// calls: null means the appended tokens are the prompt (outside the solution); otherwise they continue a solution
    /// whose state it is (rows in the batch's order). Returns the logits and the state after each row's last real token.
    /// </summary>
    public (Tensor Logits, LikelihoodState State) ScoresAppended(Tensor inputIds, KvCache cache, Tensor? valid, LikelihoodState? state)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        ArgumentNullException.ThrowIfNull(cache);
        using var scope = NewDisposeScope();
        var dtype = _score.weight!.dtype;
        var (b, t) = (inputIds.shape[0], inputIds.shape[1]);
        var hidden = _model.Appended(inputIds, cache, valid, checkPositions: true, _rotary, dtype, fused: !is_grad_enabled()); // (B, T, C)
        var logp = LanguageModelLogProbs(hidden);                                                       // (B, T, V)
        var real = (valid ?? ones(b, t, ScalarType.Bool, inputIds.device)).to(dtype);                   // (B, T)
        var last = (real.sum(1).to(ScalarType.Int64) - 1).clamp_min(0);                                 // (B) last real token
        Tensor features;
        LikelihoodState next;
        if (state is null)
        {
            features = zeros(b, t, 2, dtype: dtype, device: inputIds.device);                            // prompt: outside the solution
            next = new LikelihoodState(zeros(b, dtype: dtype, device: inputIds.device), zeros(b, dtype: dtype, device: inputIds.device), PickRow(logp, last));
        }
        else
        {
            var first = state.LastLogProbs.gather(-1, inputIds[.., ..1]);                                 // (B, 1): log p(x_0) from the cached prefix
            var tokenLogp = cat([first, NextTokenLogProbs(logp, inputIds)], 1) * real;                    // (B, T), 0 on padding
            var (sum, min) = Running(tokenLogp, state);                                                   // (B, T) each
            features = stack([sum, min], -1);                                                             // (B, T, 2)
            next = new LikelihoodState(sum.gather(1, last.unsqueeze(1)).squeeze(1), min.gather(1, last.unsqueeze(1)).squeeze(1), PickRow(logp, last));
        }
        var logits = (_score.call(hidden) + _likelihood.call(features)).squeeze(-1);                    // (B, T)
        return (logits.MoveToOuterDisposeScope(), next.MoveToOuterDisposeScope());
    }

    static Tensor PickRow(Tensor logp, Tensor last) =>                                                  // (B, V) at each row's last real token
        logp.gather(1, last.view(-1, 1, 1).expand(-1, 1, logp.shape[2])).squeeze(1);

    Tensor LanguageModelLogProbs(Tensor hidden) =>                                                      // (B, T, V)
        (_lmHead is null ? nn.functional.linear(hidden, _model.Embedding.weight!) : _lmHead.call(hidden)).log_softmax(-1);

    /// <summary>
    /// Whether gradient passes run the trunk's norms, gating and attention through Ponder's C# autograd nodes (as
    /// <see cref="Policy.Transformer.TrainingKernels"/>). False here; <see cref="Learning.RewardTrainerOptions"/> sets it.
    /// </summary>
    public bool TrainingKernels { get; set; }

    /// <summary>Final-normed hidden states (B, T, C) with full causal attention at positions 0…T−1.</summary>
    public Tensor Hidden(Tensor inputIds)
    {
        var grad = is_grad_enabled();
        return _model.Causal(inputIds, _rotary, _score.weight!.dtype, fused: !grad, trainingKernels: TrainingKernels && grad);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _rotary.Dispose();
        base.Dispose(disposing);
    }
}
