using Ponder.Policy;

namespace Ponder.Learning;

/// <summary>
/// The shipped policy's recipe. Chosen for headroom: on 2 CPU cores, a 0.8M-parameter model trained
/// about 8 minutes on 3-step chains of 3-digit numbers lands between 25% and 75% greedy with pass@64
/// far above it, which leaves room for search and RL (small models with more steps beat larger ones
/// in fixed CPU time).
/// </summary>
public static class SftPresets
{
    public static SftOptions Default(string outDir, int seed) => new()
    {
        Task = "arith", Out = outDir, Seed = seed,
        Model = new TransformerConfig { HiddenSize = 128, NumLayers = 4, NumHeads = 4, NumKvHeads = 4, IntermediateSize = 352, MaxPositions = 160 },
        Steps = 3000, BatchSize = 64, Lr = 3e-3, Warmup = 100, EvalEvery = 500, EvalCount = 200, CheckpointEvery = 1000, MaxMinutes = 11,
    };

    /// <summary>Toy size for <c>ponder demo --quick</c> and smoke runs: an easier task (2-step chains of 2-digit numbers) so that a minute of training shows something.</summary>
    public static SftOptions Quick(string outDir, int seed) => Default(outDir, seed) with
    {
        Task = "arith:steps=2,digits=2,ops=+-",
        Model = new TransformerConfig { HiddenSize = 64, NumLayers = 2, NumHeads = 4, NumKvHeads = 2, IntermediateSize = 176, MaxPositions = 160 },
        Steps = 1200, BatchSize = 32, Lr = 5e-3, EvalEvery = 300, EvalCount = 50, CheckpointEvery = 0, MaxMinutes = 2,
    };
}
