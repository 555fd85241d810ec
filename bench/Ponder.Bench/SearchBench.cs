using Ponder.Policy;
using Ponder.Rewards;
using Ponder.Scaling;
using Ponder.Search;
using Ponder.Tasks;

namespace Ponder.Bench;

/// <summary>Tree KV reuse: forward ÷ sampled tokens and time growth for beam search and MCTS (the oracle gold PRM guides them).</summary>
internal static class SearchBench
{
    public static void Run(Transformer model, ITokenizer tokenizer, ITask task)
    {
        var policy = new LoadedPolicy(model, tokenizer, new CheckpointState(), "bench");
        var prm = GoldStepReward.SizedLike(task, policy);
        var rows = TreeReuseBench.Measure(task, new GeneratorPolicy(policy), prm, [4, 8, 16, 32], problems: 4);
        Console.WriteLine();
        Console.WriteLine("Tree search KV reuse (policy tokens run ÷ sampled; goal ≤ 1.1) and time vs N:");
        Console.WriteLine(TreeReuseBench.Table(rows));
    }
}
