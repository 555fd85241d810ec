using Ponder.Search;

namespace Ponder.Tests.Search;

public sealed class StrategyTests
{
    // The likely path a1 → #1 is wrong; the right answer 2 needs the unlikely b1 (0.3) then b2 (0.5).
    internal static Dictionary<string, (string, double)[]> Table() => new()
    {
        [""] = [("a1", 0.7), ("b1", 0.3)],
        ["a1\n"] = [("#1", 1.0)],
        ["b1\n"] = [("b2", 0.5), ("b9", 0.5)],
        ["b1\nb2\n"] = [("#2", 1.0)],
        ["b1\nb9\n"] = [("#9", 1.0)],
    };

    internal static ToyReward Prm() => new(new() { ["a1"] = 0.1, ["#1"] = 0.1, ["b1"] = 0.8, ["b2"] = 0.9, ["b9"] = 0.2, ["#2"] = 1.0, ["#9"] = 0.1 }, flopsPerToken: 1);

    private static SearchResult Solve(StrategyKind kind, SearchSettings settings, int n, ToyReward? prm = null, long seed = 3)
    {
        var policy = new ToyPolicy(Table());
        var context = ToyPolicy.Context(policy, prm) with { Seed = seed };
        return Strategies.Create(kind, settings).Solve(ToyPolicy.Problem, context, Budget.Samples(n));
    }

    [Fact]
    public void Greedy_follows_the_most_likely_steps()
    {
        var result = Solve(StrategyKind.Greedy, new SearchSettings(), 1);
        Assert.Equal("1", result.Answer);
        Assert.Equal("a1\n#1", result.Completion);
    }

    [Fact]
    public void Best_of_n_majority_picks_the_most_frequent_answer()
    {
        var result = Solve(StrategyKind.BestOfN, new SearchSettings { Selector = Selector.Majority }, 32);
        Assert.Equal("1", result.Answer);
        Assert.Equal(32, result.Candidates.Count);
        Assert.True(result.Candidates.Count(c => c.Answer == "1") > 16);
    }

    [Fact]
    public void Best_of_n_prm_max_picks_the_best_scored_solution_and_prm_vote_agrees()
    {
        foreach (var selector in new[] { Selector.PrmMax, Selector.PrmVote })
        {
            var result = Solve(StrategyKind.BestOfN, new SearchSettings { Selector = selector }, 32, Prm());
            Assert.Equal("2", result.Answer);
            Assert.All(result.Candidates, c => Assert.Equal(Solution(c.Completion).Count, c.StepScores.Count));
        }
    }

    [Fact]
    public void Beam_search_finds_the_unlikely_right_path()
    {
        var result = Solve(StrategyKind.Beam, new SearchSettings { Expansions = 2 }, 8, Prm());
        Assert.Equal("2", result.Answer);
        Assert.Equal("b1\nb2\n#2", result.Completion);
    }

    [Fact]
    public void Beam_search_with_lookahead_finds_it_too()
    {
        var result = Solve(StrategyKind.Beam, new SearchSettings { Expansions = 2, Lookahead = 1 }, 8, Prm());
        Assert.Equal("2", result.Answer);
    }

    [Fact]
    public void Dvts_finds_the_unlikely_right_path()
    {
        var result = Solve(StrategyKind.Dvts, new SearchSettings { Expansions = 2 }, 8, Prm());
        Assert.Equal("2", result.Answer);
    }

    [Fact]
    public void Mcts_with_prm_leaves_finds_the_unlikely_right_path_and_returns_a_finished_solution()
    {
        var result = Solve(StrategyKind.Mcts, new SearchSettings { Expansions = 2 }, 12, Prm());
        Assert.Equal("2", result.Answer);
        Assert.EndsWith("#2", result.Completion);
        Assert.All(result.Candidates, c => Assert.NotNull(c.Answer));
    }

    [Fact]
    public void Mcts_with_rollout_leaves_finds_it_too()
    {
        var result = Solve(StrategyKind.Mcts, new SearchSettings { Expansions = 2, LeafValue = LeafValue.Rollout }, 12, Prm());
        Assert.Equal("2", result.Answer);
    }

    [Fact]
    public void Sequential_revision_shows_the_reviser_each_previous_attempt_and_votes_over_all_rounds()
    {
        var policy = new ToyPolicy(Table());
        var reviser = new ToyPolicy(new() { [""] = [("b1", 1.0)], ["b1\n"] = [("b2", 1.0)], ["b1\nb2\n"] = [("#2", 1.0)] });
        var context = ToyPolicy.Context(policy) with { Reviser = reviser, Seed = 2 };
        var result = Strategies.Create(StrategyKind.Revision, new SearchSettings { Rounds = 3 }).Solve(ToyPolicy.Problem, context, Budget.Samples(12));
        Assert.Equal("2", result.Answer);
        Assert.Equal(12, result.Candidates.Count);                                  // 4 chains × 3 rounds
        Assert.Equal(8, reviser.Opened);
        Assert.All(reviser.Prompts, p => Assert.StartsWith(ToyPolicy.Problem.Prompt, p));
        Assert.All(reviser.Prompts, p => Assert.EndsWith("#" + (p.Contains("b2") ? "2" : p.Contains("b9") ? "9" : "1") + "\nrevise:\n", p));
    }

    [Fact]
    public void Same_seed_gives_the_same_result_and_compute()
    {
        var a = Solve(StrategyKind.Beam, new SearchSettings { Expansions = 2 }, 8, Prm(), seed: 5);
        var b = Solve(StrategyKind.Beam, new SearchSettings { Expansions = 2 }, 8, Prm(), seed: 5);
        Assert.Equal(a.Completion, b.Completion);
        Assert.Equal(a.Compute, b.Compute);
        Assert.Equal(a.Candidates.Select(c => c.Completion), b.Candidates.Select(c => c.Completion));
    }

    [Fact]
    public void Every_result_carries_the_compute_of_its_policy_and_reward_calls()
    {
        var prm = Prm();
        var result = Solve(StrategyKind.Beam, new SearchSettings { Expansions = 2 }, 8, prm);
        Assert.Equal(ToyPolicy.PromptTokens, result.Compute.PrefillTokens);        // the prompt once: beams fork, never re-read it
        Assert.Equal(result.Compute.GeneratedTokens, result.Compute.DecodeTokens);
        Assert.True(result.Compute.RewardTokens > 0);
        Assert.True(result.Compute.Flops > result.Compute.PolicyFlops);
    }

    [Fact]
    public void A_tokens_budget_stops_best_of_n_once_spent()
    {
        var policy = new ToyPolicy(Table());
        var context = ToyPolicy.Context(policy) with { Seed = 1 };
        var result = Strategies.Create(StrategyKind.BestOfN).Solve(ToyPolicy.Problem, context, Budget.Tokens(200));
        Assert.True(result.Candidates.Count > 4, $"{result.Candidates.Count} samples");
        Assert.InRange(result.Compute.Tokens, 100, 200);
    }

    [Fact]
    public void A_tokens_budget_stops_mcts_once_spent_or_once_the_tree_is_exhausted()
    {
        var policy = new ToyPolicy(Table());
        var context = ToyPolicy.Context(policy, Prm()) with { Seed = 1 };
        var small = Strategies.Create(StrategyKind.Mcts, new SearchSettings { Expansions = 2 }).Solve(ToyPolicy.Problem, context, Budget.Tokens(15));
        var large = Strategies.Create(StrategyKind.Mcts, new SearchSettings { Expansions = 2 }).Solve(ToyPolicy.Problem, context, Budget.Tokens(1_000_000));
        Assert.InRange(small.Compute.Tokens, 15, 15 + 20);                         // one simulation costs at most 2 steps + a PRM call
        Assert.True(large.Compute.Tokens > small.Compute.Tokens);
        Assert.True(large.Compute.Tokens < 1000);                                   // the whole toy tree, then it stops
        Assert.Equal("2", large.Answer);
    }

    [Fact]
    public void A_tokens_budget_sets_the_beam_width_from_the_price_of_one_sample()
    {
        var policy = new ToyPolicy(Table());
        var context = ToyPolicy.Context(policy, Prm()) with { Seed = 1 };
        var narrow = Strategies.Create(StrategyKind.Beam, new SearchSettings { Expansions = 2 }).Solve(ToyPolicy.Problem, context, Budget.Tokens(40));
        var wide = Strategies.Create(StrategyKind.Beam, new SearchSettings { Expansions = 2 }).Solve(ToyPolicy.Problem, context, Budget.Tokens(400));
        Assert.True(wide.Compute.Tokens > narrow.Compute.Tokens, $"{narrow.Compute.Tokens} vs {wide.Compute.Tokens}");
        Assert.True(wide.Candidates.Count > narrow.Candidates.Count);
        Assert.Equal("2", wide.Answer);
    }

    [Theory]
    [InlineData(StrategyKind.Beam)]
    [InlineData(StrategyKind.Dvts)]
    public void Beam_search_and_dvts_keep_each_distinct_solution_once(StrategyKind kind)
    {
        // Given a table where the kept step a1 has one continuation, so its M = 2 children finish alike
        var result = Solve(kind, new SearchSettings { Expansions = 2 }, 8, Prm());

        // Then that solution is one candidate (one vote), as in MCTS
        var completions = result.Candidates.Select(c => c.Completion).ToList();
        Assert.Contains("a1\n#1", completions);
        Assert.Equal(completions.Count, completions.Distinct().Count());
    }

    private static IReadOnlyList<string> Solution(string text) => Ponder.Tasks.Solution.Lines(text);
}
