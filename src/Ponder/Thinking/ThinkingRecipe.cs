using System.Globalization;
using Ponder.Policy;

namespace Ponder.Thinking;

/// <summary>Settings of the thinking experiments (trace vs optimal SFT at equal tokens, budget sweep, RL) and of the demo stage.</summary>
public sealed record ThinkingRecipe
{
    /// <summary>
    /// Inner countdown task: four one-digit numbers, where a path is hard to guess and each step is easy, so a policy that
    /// searches generalises to unseen puzzles and one that guesses does not (about 13,000 puzzles, over 1,000 held out).
    /// Three numbers leave little to search: there optimal-path SFT stays ahead (docs/thinking/note.md).
    /// </summary>
    public string Countdown { get; init; } = "countdown:numbers=4,max=9,target=50";
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
    /// Training tokens (prompt + completion, what SFT counts) given to each policy: equal compute. At about 12M tokens trace
    /// SFT led optimal-path SFT in each of four seeds (+7.75 points on average); at 6M the two were level.
    /// </summary>
    public long TrainTokens { get; init; } = 12_000_000;
    /// <summary>Small batches: at 1M tokens, batch 8 (about 800 steps) took trace SFT from 3% (batch 16) to 16% on 300 held-out problems.</summary>
    public int BatchSize { get; init; } = 8;
    public double Lr { get; init; } = 3e-3;
    /// <summary>Held-out problems per evaluation.</summary>
    public int EvalCount { get; init; } = 200;
    /// <summary>Thinking budgets of the sweep (a 16× range).</summary>
    public IReadOnlyList<int> Budgets { get; init; } = [16, 32, 64, 128, 256];
    /// <summary>Samples per problem for the parallel curve.</summary>
    public int ParallelSamples { get; init; } = 8;
    /// <summary>
    /// GRPO on the trace policy: rollout batches, prompts per batch, samples per prompt, learning rate (200 batches of 16×8
    /// at 1e-4 raised each of four 12M-token trace policies, +5.6 points on average, most keeping their search).
    /// </summary>
    public int RlSteps { get; init; } = 200;
    public int RlPrompts { get; init; } = 16;
    public int RlGroup { get; init; } = 8;
    public double RlLr { get; init; } = 1e-4;
    public int Seed { get; init; } = 1;

    public string TraceTask => Spec(Style);

    public string OptimalTask => Spec(TraceStyle.OptimalOnly);

    public string Spec(TraceStyle style) => string.Create(CultureInfo.InvariantCulture,
        $"think:{Countdown},style={ThinkingTaskSpec.StyleName(style)},expansions={MaxExpansions},fallback={Fallback.ToString().ToLowerInvariant()},maxlen={Model.MaxPositions - 32}");

    /// <summary>The full stage, as <c>ponder think stage</c> runs it: 500 held-out problems, budgets 16 to 256 (docs/thinking/note.md).</summary>
    public static ThinkingRecipe Full(int seed) => new() { Seed = seed, EvalCount = 500 };

    /// <summary>
    /// The thinking stage of <c>ponder demo</c> (also <c>ponder think stage --demo</c>): the full recipe's training, evaluated on
    /// 200 held-out problems with 4 parallel samples.
    /// </summary>
    public static ThinkingRecipe Demo(int seed) => Full(seed) with { EvalCount = 200, ParallelSamples = 4 };

    /// <summary>
    /// Toy size for <c>ponder demo --quick</c>, on three numbers (short traces): 23 s measured (one thread); the figures only
    /// show that every part runs.
    /// </summary>
    public static ThinkingRecipe Quick(int seed) => new()
    {
        Seed = seed, Countdown = "countdown:numbers=3,max=15,target=50", MaxExpansions = 8,
        Model = new TransformerConfig { HiddenSize = 48, NumLayers = 2, NumHeads = 4, NumKvHeads = 2, IntermediateSize = 128, MaxPositions = 320 },
        TrainTokens = 250_000, EvalCount = 40, Budgets = [16, 64, 256], ParallelSamples = 4, RlSteps = 3, RlPrompts = 4, RlGroup = 4, RlLr = 3e-4,
    };
}
