using Ponder.Policy;
using Ponder.Tests.Policy;
using Ponder.Thinking;

namespace Ponder.Tests.Thinking;

public sealed class BudgetedThinkerTests
{
    static int Count(string text, string part)
    {
        int n = 0;
        for (int at = text.IndexOf(part, StringComparison.Ordinal); at >= 0; at = text.IndexOf(part, at + part.Length, StringComparison.Ordinal)) n++;
        return n;
    }

    static BudgetedThinker RandomPolicy(ITokenizer tokenizer, int seed) =>
        new(new Generator(TinyModels.Model(tokenizer.VocabSize, seed, initStd: 0.02, maxPositions: 256), tokenizer));

    [Fact]
    public void Budget_forcing_replaces_early_closes_with_the_cue_and_never_exceeds_the_cap()
    {
        // Given a near-uniform random policy whose vocabulary has the close marker as one token (it closes within ~10 tokens)
        var tokenizer = new MarkerTokenizer();
        var thinker = RandomPolicy(tokenizer, seed: 1);
        var budget = new ThinkingBudget { MaxThinkingTokens = 40, MinThinkingTokens = 40, MaxForcings = 3, Cue = "wait\n", MaxAnswerTokens = 8 };

        // When 24 rows think with forcing up to the cap
        var results = thinker.Generate(Enumerable.Repeat("ab\n", 24).ToList(), budget, new SamplingOptions { Seed = 5 });

        // Then no row thinks past the cap, most rows were forced, each forcing left its cue in the thinking, and the
        // thinking section (up to the first close marker) holds all counted thinking tokens: no suppressed close is left in it
        Assert.All(results, r => Assert.InRange(r.ThinkingTokens, 0, 40));
        Assert.True(results.Count(r => r.Forcings > 0) >= 12, $"{results.Count(r => r.Forcings > 0)} of 24 rows forced");
        foreach (var r in results)
        {
            Assert.StartsWith("<think>\n", r.Completion, StringComparison.Ordinal);
            var (thinking, _) = ThinkingFormat.Split(r.Completion, out bool closed);
            Assert.Equal(r.Closed, closed);
            Assert.Equal(r.ThinkingTokens, tokenizer.Encode(thinking!).Length);
            Assert.True(Count(thinking!, "wait\n") >= r.Forcings, r.Completion);
            Assert.InRange(r.Forcings, 0, 3);
        }
    }

    [Fact]
    public void Without_forcing_rows_close_early_on_their_own_and_get_no_cue()
    {
        var tokenizer = new MarkerTokenizer();
        var thinker = RandomPolicy(tokenizer, seed: 1);
        var results = thinker.Generate(Enumerable.Repeat("ab\n", 24).ToList(),
            new ThinkingBudget { MaxThinkingTokens = 40, MaxAnswerTokens = 8 }, new SamplingOptions { Seed = 5 });
        Assert.All(results, r => Assert.Equal(0, r.Forcings));
        Assert.True(results.Count(r => r.Closed && !r.Capped) >= 12);
        Assert.True(results.Where(r => r.Closed && !r.Capped).Average(r => r.ThinkingTokens)
            < results.Average(r => r.ThinkingTokens + (r.Capped ? 0 : 40)), "early closes think less than the cap");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(17)]
    [InlineData(60)]
    public void A_hard_cap_closes_the_section_and_asks_for_the_answer(int cap)
    {
        // Given a random char-level policy that practically never writes "</think>" itself
        var tokenizer = new CharTokenizer();
        var thinker = RandomPolicy(tokenizer, seed: 2);
        var generator = thinker.Generator;
        generator.ResetCounters();

        // When it thinks under a hard cap
        var results = thinker.Generate(["3 7 25 -> 46\n", "1 2 -> 3\n"], new ThinkingBudget { MaxThinkingTokens = cap, MaxAnswerTokens = 5 },
            new SamplingOptions { Seed = 3 });

        // Then the controller closes every section at the cap (a newline may end it), and the answer follows the close marker
        foreach (var r in results)
        {
            Assert.True(r.Capped && r.Closed);
            Assert.InRange(r.ThinkingTokens, cap - 1, cap);
            var (thinking, answer) = ThinkingFormat.Split(r.Completion, out _);
            Assert.InRange(thinking!.Length, r.ThinkingTokens * 0.8, r.ThinkingTokens);   // specials sampled decode to nothing
            if (cap > 1) Assert.EndsWith("\n", thinking);
            Assert.Contains(ThinkingFormat.Close + "\n", r.Completion, StringComparison.Ordinal);
            Assert.InRange(r.AnswerTokens, 1, 5);
            Assert.True(answer.Length <= 5);
        }
        Assert.True(generator.DecodeTokens > 0);
    }

    [Fact]
    public void A_budget_as_large_as_the_context_is_capped_by_the_room_the_context_leaves()
    {
        // Given a random char-level policy, greedy (it repeats a few characters and never writes "</think>"), in a context of 256 positions
        var tokenizer = new CharTokenizer();
        var thinker = RandomPolicy(tokenizer, seed: 2);
        var budget = new ThinkingBudget { MaxThinkingTokens = 256, MaxAnswerTokens = 5 };
        string[] prompts = ["3 7 25 -> 46\n", "1 2 -> 3\n"];

        // When it thinks under a budget as large as the context
        var results = thinker.Generate(prompts, budget, new SamplingOptions { Temperature = 0 });

        // Then each row is cut at the room its prompt leaves (4 more tokens for the 4 characters shorter prompt), which Cap
        // reports and the room of the two problems describes as the context's, not the budget's
        int[] caps = [.. prompts.Select(p => BudgetedThinker.Cap(tokenizer, 256, p, budget))];
        Assert.Equal(4, caps[1] - caps[0]);
        Assert.True(caps[1] < 256 - 5 - prompts[1].Length, $"cap {caps[1]}");
        for (int i = 0; i < prompts.Length; i++)
        {
            Assert.True(results[i].Capped);
            Assert.InRange(results[i].ThinkingTokens, caps[i] - 1, caps[i]);
        }
        var room = ThinkingRoom.Of(tokenizer, 256, [.. prompts.Select((p, i) => new Ponder.Tasks.Problem($"{i}", p, "0"))], budget);
        Assert.Equal(new ThinkingRoom(caps[0], caps[1], ByContext: true), room);
        Assert.Equal($"thinking up to the context's room ({caps[0]}–{caps[1]} tokens)", room.Describe());
        Assert.Equal($"thinking capped at 40 tokens", ThinkingRoom.Of(tokenizer, 256, [new("a", prompts[0], "0")], budget with { MaxThinkingTokens = 40 }).Describe());
    }

    [Fact]
    public void Parallel_points_count_the_compute_of_k_samples_prompts_included()
    {
        // Given a random policy, two problems and four samples of each
        var tokenizer = new MarkerTokenizer();
        using var model = TinyModels.Model(tokenizer.VocabSize, 2, initStd: 0.02, maxPositions: 256);
        var problems = new[] { new Ponder.Tasks.Problem("a", "ab\n", "1"), new Ponder.Tasks.Problem("b", "ba\n", "2") };
        var task = new Ponder.Tasks.ArithTask(new Ponder.Tasks.ArithOptions());
        var budget = new ThinkingBudget { MaxThinkingTokens = 20, MaxAnswerTokens = 4 };

        // When pass@k points are measured, and the same samples are generated directly
        var points = BudgetSweep.Parallel(model, tokenizer, task, problems, 4, budget, 1.0, 3);
        var (_, compute) = BudgetSweep.Run(model, tokenizer, [.. problems.SelectMany(p => Enumerable.Repeat(p, 4))], budget, new SamplingOptions { Temperature = 1.0, Seed = 3 });

        // Then k samples cost k times one sample's prefill and decode tokens, more than the tokens they wrote
        Assert.Equal([1, 2, 4], points.Select(p => p.K));
        Assert.All(points, p => Assert.Equal(p.K * compute / 8.0, p.MeanComputeTokens, 6));
        Assert.All(points, p => Assert.True(p.MeanComputeTokens > p.MeanGeneratedTokens));
    }

    [Theory]
    [InlineData("countdown:numbers=3", false)]
    [InlineData("think:countdown:numbers=3,style=dfs", false)]
    [InlineData("arith", true)]
    [InlineData("think:arith,style=optimal", true)]
    public void Parallel_points_carry_a_majority_vote_only_where_answers_can_differ(string spec, bool votes)
    {
        // Given a random policy, two held-out problems of the task and two samples of each
        var tokenizer = new CharTokenizer();
        using var model = TinyModels.Model(tokenizer.VocabSize, 2, initStd: 0.02, maxPositions: 256);
        var task = Ponder.Tasks.TaskRegistry.Create(spec);
        var problems = task.Problems(Ponder.Tasks.Split.Test, 2, 0);

        // When the parallel points are measured
        var points = BudgetSweep.Parallel(model, tokenizer, task, problems, 2, new ThinkingBudget { MaxThinkingTokens = 8, MaxAnswerTokens = 4 }, 1.0, 3);

        // Then countdown, whose answers all name the target, has no maj@k (a vote would only take the first sample naming it),
        // while arith keeps its majority vote; pass@k is there for both
        Assert.Equal([1, 2], points.Select(p => p.K));
        Assert.All(points, p => Assert.Equal(votes, p.MajorityAtK is not null));
        Assert.All(points, p => Assert.InRange(p.PassAtK, 0, 1));
    }
}
