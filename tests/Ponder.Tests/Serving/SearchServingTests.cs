using System.Text.Json.Nodes;
using Ponder.Policy;
using Ponder.Rewards;
using Ponder.Search;
using Ponder.Serving;
using Ponder.Tasks;

namespace Ponder.Tests.Serving;

/// <summary>Every search strategy behind reasoning_effort, served on loopback by the tiny bigram policy.</summary>
public sealed class SearchServingTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _checkpoint;

    public SearchServingTests() => _checkpoint = TinyServedModel.Save(_dir);

    public void Dispose() => _dir.Dispose();

    /// <summary>Trusts steps that state the answer 9 (the tiny policy's rarest); charges one token per character read.</summary>
    private sealed class MeteredTrustsNine : IProcessReward, IMeteredReward
    {
        public long Tokens { get; private set; }

        public double FlopsPerToken => 1000;

        public IReadOnlyList<IReadOnlyList<double>> ScoreSteps(IReadOnlyList<Problem> problems, IReadOnlyList<IReadOnlyList<string>> steps)
        {
            Tokens += problems.Zip(steps).Sum(x => x.First.Prompt.Length + x.Second.Sum(s => s.Length + 1));
            return steps.Select(s => (IReadOnlyList<double>)s.Select(step => step == "#9" ? 0.9 : 0.1).ToList()).ToList();
        }
    }

    /// <summary>What compute-optimal chooses among: a cheap best-of-4 and a dearer, more accurate beam search.</summary>
    private static readonly PlanEntry[] ComputePlan =
    [
        new("bon-majority", StrategyKind.BestOfN, new SearchSettings(), 4, 1e5, 120, 0.5),
        new("beam", StrategyKind.Beam, new SearchSettings(), 8, 4e5, 600, 0.8),
    ];

    [Theory]
    [InlineData("greedy", StrategyKind.Greedy)]
    [InlineData("best-of-n:8@1", StrategyKind.BestOfN)]
    [InlineData("best-of-n:8@1,selector=prm-max", StrategyKind.BestOfN)]
    [InlineData("beam:8,expansions=4", StrategyKind.Beam)]
    [InlineData("dvts:8,expansions=2", StrategyKind.Dvts)]
    [InlineData("mcts:4", StrategyKind.Mcts)]
    [InlineData("revision:4", StrategyKind.Revision)]
    [InlineData("compute-optimal:1000tok", StrategyKind.Beam)]
    public async Task High_effort_runs_its_plans_strategy_and_reports_what_the_search_spent(string planText, StrategyKind runs)
    {
        // Given a server whose high effort is the plan, with a metered PRM, a reviser and a compute-optimal plan
        var plan = EffortPlan.Parse(planText);
        var served = TinyServedModel.Load(_checkpoint);
        var prm = new MeteredTrustsNine();
        var options = new ServerOptions
        {
            Effort = new EffortSettings { High = plan }, Prm = prm, ComputePlan = ComputePlan,
            Reviser = TinyServedModel.Load(_checkpoint).Generator,
        };
        await using var server = await TinyServedModel.Serve(served, options);
        using var http = new HttpClient();

        // When a client asks for high effort
        var (status, body) = await ServerFixture.PostAsync(http, server, "chat/completions", ServerFixture.Chat("\"reasoning_effort\": \"high\", \"seed\": 3, \"max_tokens\": 30"));

        // Then the answer is what the strategy itself chooses with the same seed and limits
        Assert.True(status == System.Net.HttpStatusCode.OK, body?.ToJsonString());
        var local = TinyServedModel.Load(_checkpoint);
        var limits = options.StepLimits with { MaxNewTokens = 30, MaxStepTokens = 30 };
        var context = new SearchContext(new GeneratorPolicy(local.Generator, limits), (_, text) => Answers.Read(text))
        {
            Prm = new MeteredTrustsNine(), Reviser = new GeneratorPolicy(TinyServedModel.Load(_checkpoint).Generator, limits), Seed = 3,
        };
        ISearchStrategy strategy = plan.Strategy == StrategyKind.ComputeOptimal ? new ComputeOptimal(ComputePlan) : Strategies.Create(plan.Strategy, plan.Settings);
        var expected = strategy.Solve(new Problem("served", ServerFixture.Prompt, ""), context, plan.Budget);
        string text = (string)body!["choices"]![0]!["message"]!["content"]!;
        Assert.Equal(runs, expected.Strategy);
        Assert.Equal(expected.Completion, text);

        // and the usage counts every token the search spent: sampled, re-read beyond the prompt, read by the PRM
        var c = expected.Compute;
        long spent = c.GeneratedTokens + (c.PrefillTokens - ServerFixture.Prompt.Length - 1) + c.RewardTokens;
        int completion = (int)body["usage"]!["completion_tokens"]!, reasoning = (int)body["usage"]!["completion_tokens_details"]!["reasoning_tokens"]!;
        Assert.Equal(spent, completion);
        Assert.Equal(completion - (text.Length + 1), reasoning);                   // char tokens of the answer and its EOS
        if (plan.Strategy == StrategyKind.ComputeOptimal)
        {
            var (refused, error) = await ServerFixture.PostAsync(http, server, "chat/completions", ServerFixture.Chat("\"reasoning_effort\": \"high\", \"temperature\": 0.5"));
            Assert.Equal(System.Net.HttpStatusCode.BadRequest, refused);
            Assert.Equal("temperature", (string?)error!["error"]!["param"]);
        }
        if (runs == StrategyKind.Greedy) Assert.Equal(0, reasoning);
        else Assert.True(reasoning > 0, $"{planText} spent {completion} tokens, {reasoning} of them reasoning");
        bool scoresSteps = plan.Strategy is StrategyKind.Beam or StrategyKind.Dvts or StrategyKind.Mcts or StrategyKind.ComputeOptimal || plan.Settings.Selector == Selector.PrmMax;
        Assert.Equal(scoresSteps, prm.Tokens > 0);
        Assert.Equal(prm.Tokens, c.RewardTokens);
    }

    [Fact]
    public async Task Prm_beam_search_at_high_effort_finds_the_answer_the_prm_trusts_where_medium_keeps_the_majority()
    {
        await using var server = await TinyServedModel.Serve(TinyServedModel.Load(_checkpoint), new ServerOptions { Effort = EffortSettings.WithPrm, Prm = new MeteredTrustsNine() });
        using var http = new HttpClient();

        // (at seed 3 the completion high effort chooses has no answer with this tiny model)
        var (_, high) = await ServerFixture.PostAsync(http, server, "chat/completions", ServerFixture.Chat("\"reasoning_effort\": \"high\", \"seed\": 4, \"max_tokens\": 30"));
        var (_, medium) = await ServerFixture.PostAsync(http, server, "chat/completions", ServerFixture.Chat("\"reasoning_effort\": \"medium\", \"seed\": 4, \"max_tokens\": 30"));

        Assert.Equal("9", Answers.Read((string)high!["choices"]![0]!["message"]!["content"]!));
        Assert.Equal("4", Answers.Read((string)medium!["choices"]![0]!["message"]!["content"]!));
    }

    [Theory]
    [InlineData("beam:16", "needs a process reward model")]
    [InlineData("best-of-n:8,selector=prm-vote", "needs a process reward model")]
    [InlineData("beam:6,expansions=4", "multiple of M = 4")]
    [InlineData("revision:4", "reviser")]
    [InlineData("compute-optimal:2e9flops", "compute-optimal plan")]
    public async Task A_plan_the_server_cannot_run_is_refused_at_start(string planText, string message)
    {
        bool aboutPrm = message.Contains("process reward", StringComparison.Ordinal);
        var options = new ServerOptions { Effort = new EffortSettings { Medium = EffortPlan.Parse(planText) }, Prm = aboutPrm ? null : new MeteredTrustsNine() };

        var e = await Assert.ThrowsAsync<ArgumentException>(() => TinyServedModel.Serve(TinyServedModel.Load(_checkpoint), options));

        Assert.StartsWith($"effort plan '{EffortPlan.Parse(planText)}'", e.Message);
        Assert.Contains(message, e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Search_cuts_at_the_requests_stop_string_and_refuses_top_p()
    {
        await using var server = await TinyServedModel.Serve(TinyServedModel.Load(_checkpoint), new ServerOptions { Effort = new EffortSettings { Low = EffortPlan.Parse("greedy") } });
        using var http = new HttpClient();

        var (_, whole) = await ServerFixture.PostAsync(http, server, "completions", """{"model": "tiny", "prompt": "347 +128 *3 -219\n", "reasoning_effort": "low", "max_tokens": 30}""");
        var (_, cut) = await ServerFixture.PostAsync(http, server, "completions", """{"model": "tiny", "prompt": "347 +128 *3 -219\n", "reasoning_effort": "low", "max_tokens": 30, "stop": ["4"]}""");
        var (status, error) = await ServerFixture.PostAsync(http, server, "completions", """{"model": "tiny", "prompt": "347 +128 *3 -219\n", "reasoning_effort": "low", "top_p": 0.5}""");

        Assert.Equal("#4", (string)whole!["choices"]![0]!["text"]!);
        Assert.Equal("#", (string)cut!["choices"]![0]!["text"]!);
        Assert.Equal("stop", (string)cut["choices"]![0]!["finish_reason"]!);
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, status);
        Assert.Equal("top_p", (string)error!["error"]!["param"]!);
    }
}
