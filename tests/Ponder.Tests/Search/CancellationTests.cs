using Ponder.Rewards;
using Ponder.Search;
using Ponder.Serving;
using Ponder.Tasks;
using Ponder.Tests.Serving;

namespace Ponder.Tests.Search;

/// <summary>A search whose <see cref="SearchContext.Cancellation"/> fires stops at its next policy step or reward call.</summary>
public sealed class CancellationTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly LocalPolicy _policy;

    public CancellationTests() => _policy = TinyServedModel.Load(TinyServedModel.Save(_dir, maxPositions: 160, endless: true));

    public void Dispose() => _dir.Dispose();

    /// <summary>Scores every step 0.5 and runs <see cref="OnCall"/> after each call.</summary>
    private sealed class CountingPrm : IProcessReward
    {
        public int Calls { get; private set; }

        public Action? OnCall { get; init; }

        public IReadOnlyList<IReadOnlyList<double>> ScoreSteps(IReadOnlyList<Problem> problems, IReadOnlyList<IReadOnlyList<string>> steps)
        {
            Calls++;
            OnCall?.Invoke();
            return steps.Select(s => (IReadOnlyList<double>)s.Select(_ => 0.5).ToList()).ToList();
        }
    }

    private SearchResult Solve(string planText, IProcessReward prm, CancellationToken cancellation, Ponder.Policy.ModelTurns? rewardTurns = null)
    {
        var plan = EffortPlan.Parse(planText);
        var limits = new SearchLimits { MaxNewTokens = 60, MaxStepTokens = 20, MaxSteps = 32 };
        var context = new SearchContext(new GeneratorPolicy(_policy.Generator, limits), (_, text) => Answers.Read(text))
        {
            // A seed at which every plan run to its end makes more than one PRM call: at some seeds all of MCTS's
            // expansions of the root sample the same finished step, and it has nothing more to score
            Prm = prm, Seed = 9, Cancellation = cancellation, RewardTurns = rewardTurns,
        };
        return Strategies.Create(plan.Strategy, plan.Settings).Solve(new Problem("p", TinyServedModel.Problem + "\n", ""), context, plan.Budget);
    }

    [Theory]
    [InlineData("beam:8,expansions=4")]
    [InlineData("dvts:8,expansions=2")]
    [InlineData("mcts:8")]
    [InlineData("best-of-n:2000tok,selector=prm-max")]
    public void Cancelled_in_the_first_reward_call_the_search_makes_no_further_call(string plan)
    {
        // Given the plan run to its end makes several PRM calls
        var whole = new CountingPrm();
        Solve(plan, whole, CancellationToken.None);
        Assert.True(whole.Calls > 1, $"{plan} made {whole.Calls} PRM call(s)");

        // When its cancellation fires during the first call
        using var cancel = new CancellationTokenSource();
        var cut = new CountingPrm { OnCall = cancel.Cancel };

        // Then the next step throws and no other call is made
        Assert.ThrowsAny<OperationCanceledException>(() => Solve(plan, cut, cancel.Token));
        Assert.Equal(1, cut.Calls);
    }

    [Fact]
    public void Cancelled_before_it_starts_the_search_runs_no_token()
    {
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        long before = _policy.Generator.DecodeTokens;

        Assert.ThrowsAny<OperationCanceledException>(() => Solve("best-of-n:8", new CountingPrm(), cancel.Token));
        Assert.Equal(before, _policy.Generator.DecodeTokens);
    }

    [Fact]
    public void Reward_calls_wait_for_their_turn_at_the_cores()
    {
        // Given a search whose reward calls take turns that another thread holds
        var turns = new Ponder.Policy.ModelTurns();
        var prm = new CountingPrm();
        var held = turns.Take();
        Exception? error = null;
        var search = new Thread(() => error = Record.Exception(() => Solve("beam:8,expansions=4", prm, CancellationToken.None, turns))) { IsBackground = true };
        search.Start();

        // When the search reaches its first reward call
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (turns.Waiting == 0 && DateTime.UtcNow < until) Thread.Sleep(5);

        // Then it waits there until the turn is given back, and then runs to its end
        Assert.Equal(1, turns.Waiting);
        Thread.Sleep(50);
        Assert.Equal(0, prm.Calls);
        held.Dispose();
        Assert.True(search.Join(TimeSpan.FromSeconds(60)));
        Assert.Null(error);
        Assert.True(prm.Calls > 1);
    }
}
