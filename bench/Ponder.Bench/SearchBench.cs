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

    /// <summary>PRM prefix cache before/after: reward-model tokens computed ÷ requested, with the gold oracle and, given a folder, a learned PRM.</summary>
    public static void PrmCache(Transformer model, ITokenizer tokenizer, ITask task, string? prmDir, int problems)
    {
        var policy = new LoadedPolicy(model, tokenizer, new CheckpointState(), "bench");
        var search = new GeneratorPolicy(policy);
        var gold = PrmCacheBench.Measure(task, search, GoldStepReward.SizedLike(task, policy), PrefixCachedOracle.GoldSizedLike(task, policy), [4, 16], problems);
        Console.WriteLine();
        Console.WriteLine("PRM prefix cache, gold step checker charged as a policy-sized PRM (before: each solution read whole; after: each token of a search once):");
        Console.WriteLine(PrmCacheBench.Table(gold));
        if (prmDir is null) return;
        var rm = LoadedRewardModel.Load(prmDir, model.Device);
        using var cached = new KvCachedPrm(rm.Model, rm.Tokenizer);
        var learned = PrmCacheBench.Measure(task, search, rm.Scorer(), cached, [4, 16], problems);
        Console.WriteLine();
        Console.WriteLine($"PRM prefix cache, learned PRM {prmDir} (KV cache of the reward model):");
        Console.WriteLine(PrmCacheBench.Table(learned));
    }
}
