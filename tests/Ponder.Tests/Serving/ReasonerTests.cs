using Ponder.Policy;
using Ponder.Rewards;
using Ponder.Search;
using Ponder.Serving;
using Ponder.Tasks;

namespace Ponder.Tests.Serving;

public sealed class ReasonerTests
{
    /// <summary>Returns fixed completions (cycled) and records what it was asked.</summary>
    private sealed class Scripted(params string[] texts) : ICompletionPolicy
    {
        public List<(int N, long Seed)> Calls { get; } = [];

        public Task<CompletionBatch> CompleteAsync(string prompt, int n, SamplingOptions options, CancellationToken cancellation = default)
        {
            Calls.Add((n, options.Seed));
            var choices = Enumerable.Range(0, n).Select(i => new Completion(texts[i % texts.Length], CompletionFinish.Stop, texts[i % texts.Length].Length + 1)).ToArray();
            return Task.FromResult(new CompletionBatch(choices, 10, choices.Sum(c => c.Tokens!.Value)));
        }
    }

    /// <summary>Scores every step of a solution by whether its text contains "good".</summary>
    private sealed class LikesGood : IProcessReward
    {
        public IReadOnlyList<IReadOnlyList<double>> ScoreSteps(IReadOnlyList<Problem> problems, IReadOnlyList<IReadOnlyList<string>> steps) =>
            steps.Select(s => (IReadOnlyList<double>)s.Select(_ => s.Any(l => l.Contains("good")) ? 1.0 : 0.1).ToList()).ToList();
    }

    [Fact]
    public async Task Vote_returns_the_first_completion_stating_the_majority_answer()
    {
        var policy = new Scripted("1+1=3\n#3", "1+1=2\n#2", "no answer", "2\n# 2", "#3", "#2");

        var reasoning = await new VoteReasoner(6).ReasonAsync(policy, "1 +1\n", new SamplingOptions { Seed = 4 });

        Assert.Equal("2", reasoning.Answer);
        Assert.Equal("1+1=2\n#2", reasoning.Chosen.Text);
        Assert.Equal(6, reasoning.Candidates.Count);
        Assert.Equal([(6, 4L)], policy.Calls);
        Assert.Equal(reasoning.CompletionTokens - 9, reasoning.ReasoningTokens);
    }

    [Fact]
    public async Task Prm_weighted_vote_lets_well_scored_minority_win()
    {
        var policy = new Scripted("bad\n#3", "bad\n#3", "good\n#5");

        var plain = await new VoteReasoner(3).ReasonAsync(policy, "p\n", new SamplingOptions());
        var weighted = await new VoteReasoner(3, new LikesGood(), Aggregation.Min).ReasonAsync(policy, "p\n", new SamplingOptions());

        Assert.Equal("3", plain.Answer);
        Assert.Equal("5", weighted.Answer);                       // 1.0 against 0.1 + 0.1
        Assert.Equal("good\n#5", weighted.Chosen.Text);
    }

    [Fact]
    public async Task Without_any_answer_the_first_completion_is_returned_with_no_answer()
    {
        var reasoning = await new VoteReasoner(3).ReasonAsync(new Scripted("abc", "def"), "p\n", new SamplingOptions());

        Assert.Null(reasoning.Answer);
        Assert.Equal("abc", reasoning.Chosen.Text);
    }

    [Theory]
    [InlineData("3+4=7\n#7", "7")]
    [InlineData("3+4=7\n#7\n#9", "7")]                            // the built-in tasks read the first final line
    [InlineData("so the answer is\n#### 1,000", "1000")]
    [InlineData("\\boxed{42}", "42")]
    [InlineData("#", null)]
    [InlineData("no answer", null)]
    public void Answers_are_read_as_the_tasks_read_them(string completion, string? answer) =>
        Assert.Equal(answer, Answers.Read(completion));

    [Theory]
    [InlineData("greedy", StrategyKind.Greedy, "1", 1.0)]
    [InlineData("best-of-n", StrategyKind.BestOfN, "8", 1.0)]
    [InlineData("best-of-n:32@0.7", StrategyKind.BestOfN, "32", 0.7)]
    [InlineData("beam:16", StrategyKind.Beam, "16", 1.0)]
    [InlineData("dvts:4096tok@0.5", StrategyKind.Dvts, "4096tok", 0.5)]
    [InlineData("mcts:8", StrategyKind.Mcts, "8", 1.0)]
    [InlineData("revision:4", StrategyKind.Revision, "4", 1.0)]
    [InlineData("compute-optimal:2e9flops", StrategyKind.ComputeOptimal, "2e9flops", 1.0)]
    public void Effort_plans_parse_strategy_budget_and_temperature(string text, StrategyKind strategy, string budget, double temperature)
    {
        var plan = EffortPlan.Parse(text);

        Assert.Equal(strategy, plan.Strategy);
        Assert.Equal(Budget.Parse(budget), plan.Budget);
        Assert.Equal(temperature, plan.Settings.Temperature);
        Assert.Equal(plan, EffortPlan.Parse(plan.ToString()));
    }

    [Fact]
    public void Effort_plan_keys_set_the_search_settings_and_survive_a_round_trip()
    {
        var plan = EffortPlan.Parse("beam:16@0.8,expansions=2,aggregation=min,lookahead=1,selector=prm-vote");
        var mcts = EffortPlan.Parse("mcts:4,puct=2.5,sims=3,leaf=rollout,final=value");

        Assert.Equal(new SearchSettings { Temperature = 0.8, Expansions = 2, Aggregation = Aggregation.Min, Lookahead = 1, Selector = Selector.PrmVote }, plan.Settings);
        Assert.Equal(new SearchSettings { Puct = 2.5, SimulationsPerSample = 3, LeafValue = LeafValue.Rollout, FinalChoice = FinalChoice.Value }, mcts.Settings);
        Assert.Equal("beam:16@0.8,selector=prm-vote,aggregation=min,expansions=2,lookahead=1", plan.ToString());
        Assert.Equal(mcts, EffortPlan.Parse(mcts.ToString()));
        Assert.Equal(Aggregation.Min, EffortPlan.Parse("beam:8", new SearchSettings { Aggregation = Aggregation.Min }).Settings.Aggregation);
    }

    [Theory]
    [InlineData("vote:8", "unknown strategy 'vote'")]
    [InlineData("beam:0", "at least 1")]
    [InlineData("beam:x", "is not N")]
    [InlineData("greedy:3", "exactly one sample")]
    [InlineData("best-of-n@-1", "temperature")]
    [InlineData("compute-optimal", "needs a budget")]
    [InlineData("compute-optimal:16", "tokens")]
    [InlineData("beam:16,width=3", "unknown key 'width'")]
    [InlineData("beam:16,expansions", "KEY=VALUE")]
    [InlineData("beam:16,expansions=0", "expansions must be")]
    [InlineData("beam:16,selector=best", "unknown selector")]
    [InlineData("best-of-n:8,puct=2", "best-of-n does not use puct (it reads selector, aggregation)")]
    [InlineData("greedy,selector=prm-vote", "greedy does not use selector")]
    [InlineData("best-of-n:8,expansions=4", "best-of-n does not use expansions")]
    [InlineData("greedy@0.7", "greedy takes no temperature")]
    [InlineData("compute-optimal:1e9flops,rounds=2", "compute-optimal does not use rounds (it takes no settings)")]
    public void Bad_effort_plans_are_refused_naming_the_problem(string text, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => EffortPlan.Parse(text));

        Assert.StartsWith($"effort plan '{text}'", e.Message);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Default_efforts_are_greedy_then_best_of_8_and_32_or_prm_beam_search()
    {
        var settings = new EffortSettings();

        Assert.Equal("greedy", settings.Low.ToString());
        Assert.Equal("best-of-n:8@1", settings.Medium.ToString());
        Assert.Equal("best-of-n:32@1", settings.High.ToString());
        Assert.Equal("beam:16@1", EffortSettings.WithPrm.High.ToString());
        Assert.Equal("beam:16@1,aggregation=min", EffortSettings.ForPrm(Aggregation.Min).High.ToString());
    }

    [Fact]
    public void Problem_template_takes_the_last_user_message_with_one_newline()
    {
        var template = new ProblemChatTemplate();

        string prompt = template.Render([new(TurnRole.System, "You are terse."), new(TurnRole.User, "1 +1"), new(TurnRole.Assistant, "#2"), new(TurnRole.User, "347 +128\n\n")]);

        Assert.Equal("347 +128\n", prompt);
        Assert.Throws<ArgumentException>(() => template.Render([new(TurnRole.User, "1 +1"), new(TurnRole.Assistant, "#2")]));
        Assert.Throws<ArgumentException>(() => template.Render([new(TurnRole.System, "hi")]));
    }
}
