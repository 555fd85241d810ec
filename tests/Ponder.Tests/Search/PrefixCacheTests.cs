using Ponder.Policy;
using Ponder.Rewards;
using Ponder.Search;
using Ponder.Tasks;
using Ponder.Tests.Policy;
using static TorchSharp.torch;

namespace Ponder.Tests.Search;

public sealed class PrefixCacheTests
{
    static readonly CharTokenizer Tokenizer = new();
    static readonly Problem Problem = new("p", "3 +4\n", "7");

    // What beam search asks of a PRM: first steps, then children of kept beams (one child twice), then a finished one twice.
    static readonly IReadOnlyList<IReadOnlyList<string>>[] Rounds =
    [
        [["3+4=7"], ["3+4=8"]],
        [["3+4=7", "7*2=14"], ["3+4=7", "7*2=15"], ["3+4=8", "8*2=16"], ["3+4=7", "7*2=14"]],
        [["3+4=7", "7*2=14", "#14"], ["3+4=7", "7*2=14", "#14"]],
    ];

    // Prompt "<s>3 +4\n" once (6), "3+4=7\n" and "3+4=8\n" (12), three distinct 7-token children (21), "#14\n" once (4).
    const long ComputedOnce = 6 + 12 + 21 + 4;

    static RewardModel TinyRewardModel()
    {
        var rm = RewardModel.FromPolicy(TinyModels.Model(100, 3, initStd: 0.1));
        using var noGrad = no_grad();
        var head = rm.named_parameters().Single(p => p.name == RewardModel.HeadName).parameter;
        head.copy_(randn(head.shape) * 0.5);
        // likelihood weights small enough that the features move the probabilities without saturating them
        rm.named_parameters().Single(p => p.name == RewardModel.LikelihoodName).parameter.copy_(tensor(new[] { 0.02f, 0.05f }).view(1, 2));
        rm.eval();
        return rm;
    }

    static long Requested => Rounds.Sum(r => r.Sum(s => (long)StepText.Encode(Tokenizer, Problem.Prompt, s).Ids.Length));

    [Fact]
    public void Kv_cached_prm_gives_the_uncached_scores_and_runs_each_token_of_a_search_once()
    {
        // Given a reward model, its plain scorer and its prefix-cached scorer
        using var rm = TinyRewardModel();
        var plain = new RewardScorer(rm, Tokenizer, RewardModelKind.Prm);
        using var cached = new KvCachedPrm(rm, Tokenizer);
        var search = new object();
        // When one search asks for the rounds in turn
        foreach (var round in Rounds)
        {
            var problems = round.Select(_ => Problem).ToList();
            var expected = plain.ScoreSteps(problems, round);
            var actual = cached.ScoreSteps(search, problems, round);
            // Then every step score is the full forward pass's, and only new tokens ran
            for (int i = 0; i < round.Count; i++)
            {
                Assert.Equal(expected[i].Count, actual[i].Count);
                for (int j = 0; j < expected[i].Count; j++) Assert.Equal(expected[i][j], actual[i][j], 5);
            }
        }
        Assert.Equal(ComputedOnce, cached.Tokens);
        Assert.Equal(Requested, cached.RequestedTokens);
        Assert.Equal(Requested, plain.Tokens);
        // And another search reuses nothing of this one
        cached.ScoreSteps(new object(), [Problem], [Rounds[2][0]]);
        Assert.Equal(ComputedOnce + StepText.Encode(Tokenizer, Problem.Prompt, Rounds[2][0]).Ids.Length, cached.Tokens);
    }

    [Fact]
    public void Kv_cached_prm_reads_a_solution_beyond_the_window_as_the_plain_scorer_does_and_keeps_prompts_apart()
    {
        using var rm = TinyRewardModel();                                // a 128-token window
        var plain = new RewardScorer(rm, Tokenizer, RewardModelKind.Prm);
        using var cached = new KvCachedPrm(rm, Tokenizer);
        var other = new Problem("q", "5 -2\n", "3");
        IReadOnlyList<string> longSolution = [.. Enumerable.Range(0, 4).Select(i => new string((char)('1' + i), 40)), "#1"];
        IReadOnlyList<IReadOnlyList<string>> steps = [longSolution, ["3+4=7"], ["5-2=3"]];
        var problems = new[] { Problem, Problem, other };
        var expected = plain.ScoreSteps(problems, steps);
        var actual = cached.ScoreSteps(new object(), problems, steps);
        for (int i = 0; i < steps.Count; i++)
            Assert.Equal(expected[i].Select(x => Math.Round(x, 5)), actual[i].Select(x => Math.Round(x, 5)));
        Assert.Equal(plain.Tokens, cached.Tokens);                      // nothing shared: each prompt and the long solution run once
    }

    [Fact]
    public void Oracle_with_prefix_cache_is_charged_what_the_kv_cached_prm_runs()
    {
        var inner = new ToyReward(new() { ["3+4=7"] = 1, ["7*2=14"] = 1, ["#14"] = 1 });
        var oracle = new PrefixCachedOracle(inner, Tokenizer, flopsPerToken: 2);
        var search = new object();
        foreach (var round in Rounds)
        {
            var scores = oracle.ScoreSteps(search, round.Select(_ => Problem).ToList(), round);
            Assert.Equal(round.Select(s => s.Select(step => step is "3+4=7" or "7*2=14" or "#14" ? 1.0 : 0.0)), scores.Select(s => s.AsEnumerable()));
        }
        Assert.Equal(ComputedOnce, oracle.Tokens);
        Assert.Equal(Requested, oracle.RequestedTokens);
        // A prefix scored before in this search is neither asked of the oracle again nor charged
        Assert.Equal([1.0], oracle.ScoreSteps(search, [Problem], [["3+4=7"]])[0]);
        Assert.Equal(3, inner.Calls);
        Assert.Equal(ComputedOnce, oracle.Tokens);
    }

    [Fact]
    public void Beam_search_meter_charges_only_the_reward_tokens_computed_and_the_search_is_unchanged()
    {
        var policy = new ToyPolicy(StrategyTests.Table());
        var settings = new SearchSettings();
        var plainResult = Strategies.Create(StrategyKind.Beam, settings).Solve(ToyPolicy.Problem, ToyPolicy.Context(policy, StrategyTests.Prm()) with { Seed = 3 }, Budget.Samples(8));
        var oracle = new PrefixCachedOracle(StrategyTests.Prm(), Tokenizer, flopsPerToken: 1);
        var result = Strategies.Create(StrategyKind.Beam, settings).Solve(ToyPolicy.Problem, ToyPolicy.Context(policy, oracle) with { Seed = 3 }, Budget.Samples(8));
        Assert.Equal(plainResult.Completion, result.Completion);
        Assert.Equal(plainResult.Candidates.Select(c => c.Score), result.Candidates.Select(c => c.Score));
        Assert.Equal(oracle.Tokens, result.Compute.RewardTokens);
        Assert.True(oracle.Tokens < oracle.RequestedTokens / 2, $"{oracle.Tokens} computed of {oracle.RequestedTokens} requested");
    }
}
