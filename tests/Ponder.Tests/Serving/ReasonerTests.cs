using Ponder.Policy;
using Ponder.Rewards;
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
    [InlineData("sample", ReasoningStrategy.Sample, 1, 0.0)]
    [InlineData("vote:8", ReasoningStrategy.Vote, 8, 1.0)]
    [InlineData("vote", ReasoningStrategy.Vote, 8, 1.0)]
    [InlineData("prm-vote:32@0.7", ReasoningStrategy.PrmVote, 32, 0.7)]
    [InlineData("sample@1", ReasoningStrategy.Sample, 1, 1.0)]
    public void Effort_plans_parse(string text, ReasoningStrategy strategy, int samples, double temperature)
    {
        var plan = EffortPlan.Parse(text);

        Assert.Equal(new EffortPlan(strategy, samples, temperature), plan);
        Assert.Equal(plan, EffortPlan.Parse(plan.ToString()));
    }

    [Theory]
    [InlineData("beam:4")]
    [InlineData("vote:0")]
    [InlineData("vote:x")]
    [InlineData("sample:3")]
    [InlineData("vote@-1")]
    public void Bad_effort_plans_are_refused(string text) => Assert.Throws<ArgumentException>(() => EffortPlan.Parse(text));

    [Fact]
    public void Default_efforts_are_one_greedy_sample_then_votes_over_8_and_32()
    {
        var settings = new EffortSettings();

        Assert.Equal("sample:1@0", settings.Low.ToString());
        Assert.Equal("vote:8@1", settings.Medium.ToString());
        Assert.Equal("vote:32@1", settings.High.ToString());
        Assert.Equal("prm-vote:32@1", EffortSettings.WithPrm.High.ToString());
        Assert.Throws<ArgumentException>(() => new ServerOptions { Effort = EffortSettings.WithPrm }.Validate());
        new ServerOptions { Effort = EffortSettings.WithPrm, Prm = new LikesGood() }.Validate();
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
