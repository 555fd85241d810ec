using System.Globalization;
using Ponder.Policy;

namespace Ponder.Thinking;

/// <summary>Settings of the thinking experiments (trace vs optimal SFT at equal tokens, budget sweep, RL) and of the demo stage.</summary>
public sealed record ThinkingRecipe
{
    /// <summary>
    /// Inner countdown task: 4 one-digit numbers, targets 10 to 50. With 4 numbers the optimal path has to be guessed among many
    /// first moves while every step stays one-digit arithmetic; at 6M tokens heuristic-trace SFT beat optimal-path SFT there
    /// (45.2% vs 36.0% on 500 held-out problems), while with 3 numbers the optimal path is easy to guess and traces lost.
    /// </summary>
    public string Countdown { get; init; } = FourNumbers;

    /// <summary>The full stage's task: 4 one-digit numbers, targets up to 50.</summary>
    public const string FourNumbers = "countdown:numbers=4,max=9,target=50";

    /// <summary>The demo's and the toy's task: 3 one-digit numbers, short traces that a 1M-token run can learn.</summary>
    public const string ThreeNumbers = "countdown:numbers=3,max=9,target=50";
    /// <summary>
    /// Trace style of the search policy (the baseline always uses <see cref="TraceStyle.OptimalOnly"/>). Heuristic traces are
    /// short (one line pair per dead end, the closest move first) and almost never exceed the bound; fixed-order DFS traces
    /// left the 164k-parameter policy at 0% (too long to learn from 1M tokens, and 39% of problems dropped).
    /// </summary>
    public TraceStyle Style { get; init; } = TraceStyle.Heuristic;
    /// <summary>Expansion bound of the traces, which keeps them within the context.</summary>
    public int MaxExpansions { get; init; } = 16;
    /// <summary>A problem whose trace exceeds the bound (or the context) is trained on its optimal path instead of being dropped.</summary>
    public TraceFallback Fallback { get; init; } = TraceFallback.Optimal;
    /// <summary>Both policies get this architecture from scratch; the context holds the longest bounded trace.</summary>
    public TransformerConfig Model { get; init; } = new() { HiddenSize = 64, NumLayers = 3, NumHeads = 4, NumKvHeads = 4, IntermediateSize = 176, MaxPositions = 448 };
    /// <summary>
    /// Training tokens (prompt + completion, what SFT counts) given to each policy: equal compute. On the 4-number task traces
    /// trail at 1M (3.0% vs 7.5%), tie at 3M (21.0% vs 20.7%) and lead at 6M (45.2% vs 36.0%).
    /// </summary>
    public long TrainTokens { get; init; } = 6_000_000;
    /// <summary>Small batches: at 1M tokens, batch 8 (about 800 steps) took trace SFT from 3% (batch 16) to 16% on 300 held-out problems.</summary>
    public int BatchSize { get; init; } = 8;
    public double Lr { get; init; } = 3e-3;
    /// <summary>Held-out problems per evaluation.</summary>
    public int EvalCount { get; init; } = 200;
    /// <summary>Thinking budgets of the sweep (a 16× range).</summary>
    public IReadOnlyList<int> Budgets { get; init; } = [16, 32, 64, 128, 256];
    /// <summary>Samples per problem for the parallel curve.</summary>
    public int ParallelSamples { get; init; } = 8;
    /// <summary>GRPO on the trace policy: rollout batches, prompts per batch, samples per prompt, learning rate.</summary>
    public int RlSteps { get; init; } = 10;
    public int RlPrompts { get; init; } = 8;
    public int RlGroup { get; init; } = 8;
    public double RlLr { get; init; } = 3e-4;
    public int Seed { get; init; } = 1;

    public string TraceTask => Spec(Style);

    public string OptimalTask => Spec(TraceStyle.OptimalOnly);

    public string Spec(TraceStyle style) => string.Create(CultureInfo.InvariantCulture,
        $"think:{Countdown},style={ThinkingTaskSpec.StyleName(style)},expansions={MaxExpansions},fallback={Fallback.ToString().ToLowerInvariant()},maxlen={Model.MaxPositions - 32}");

    /// <summary>
    /// The full stage, as <c>ponder think stage</c> runs it: 4 numbers, 6M tokens a policy, 200 held-out problems, budgets 16 to 256.
    /// Its two SFT runs took 582 s and 300 s with one libtorch thread on the shared 2-core machine (figures in docs/thinking/note.md).
    /// </summary>
    public static ThinkingRecipe Full(int seed) => new() { Seed = seed };

    /// <summary>
    /// The thinking stage of <c>ponder demo</c> (also <c>ponder think stage --demo</c>): 3 numbers and 1M tokens a policy (the
    /// full recipe's 6M tokens would take the demo past 10 minutes; here traces lose), evaluated on 100 held-out problems, budgets
    /// 16 to 128 and 4 parallel samples, to keep the stage near its former 131 s. Measured: 224 s under a load where the former
    /// demo settings took 238 s.
    /// </summary>
    public static ThinkingRecipe Demo(int seed) => Full(seed) with
    {
        Countdown = ThreeNumbers, TrainTokens = 1_000_000, EvalCount = 100, Budgets = [16, 32, 64, 128], ParallelSamples = 4,
    };

    /// <summary>Toy size for <c>ponder demo --quick</c>: 23 s measured (one thread); the figures only show that every part runs.</summary>
    public static ThinkingRecipe Quick(int seed) => new()
    {
        Seed = seed, Countdown = ThreeNumbers, MaxExpansions = 8,
        Model = new TransformerConfig { HiddenSize = 48, NumLayers = 2, NumHeads = 4, NumKvHeads = 2, IntermediateSize = 128, MaxPositions = 320 },
        TrainTokens = 250_000, EvalCount = 40, Budgets = [16, 64, 256], ParallelSamples = 4, RlSteps = 3, RlPrompts = 4, RlGroup = 4,
    };
}
