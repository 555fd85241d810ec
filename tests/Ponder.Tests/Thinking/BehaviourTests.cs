using Ponder.Cli;
using Ponder.Learning;
using Ponder.Policy;
using Ponder.Tasks;
using Ponder.Thinking;
using static TorchSharp.torch;

namespace Ponder.Tests.Thinking;

public sealed class BehaviourTests
{
    static readonly CountdownTask Inner = new(new CountdownOptions(Numbers: 3));

    [Fact]
    public void Gold_dfs_traces_measure_as_correct_valid_searches_with_their_own_counts()
    {
        // Given gold DFS completions of 100 problems the trace solves
        var task = new ThinkingTask(Inner, new TraceOptions(TraceStyle.Dfs, 400));
        var problems = Inner.Problems(Split.Test, 100, 4);
        var completions = problems.Select(p => Solution.Join(task.GoldSolution(p)!)).ToList();
        var traces = problems.Select(p => task.Trace(p)!).ToList();

        // When their behaviour is measured
        var b = ThinkingBehaviour.Measure(task, new CharTokenizer(), problems, completions);

        // Then all are right and valid, and dead ends, backtracks and revisions are the tracer's
        Assert.Equal((1.0, 0.0, 0.0, 1.0), (b.Accuracy, b.InvalidLineRate, b.InvalidBacktrackRate, b.ClosedFraction));
        Assert.Equal(traces.Average(t => t.DeadEnds), b.DeadEndsPerCompletion, 9);
        Assert.Equal(traces.Average(t => t.Backtracks), b.BacktracksPerSolution, 9);
        Assert.Equal(traces.Average(t => t.DeadEnds > 0 ? 1.0 : 0.0), b.RevisedFraction, 9);
        Assert.InRange(b.RevisedFraction, 0.05, 0.95);
    }

    [Fact]
    public void A_completion_cut_inside_its_thinking_is_wrong_and_unclosed()
    {
        var task = new ThinkingTask(Inner, new TraceOptions(TraceStyle.Dfs, 400));
        var problem = Inner.Problems(Split.Test, 1, 4)[0];
        string gold = Solution.Join(task.GoldSolution(problem)!);
        string cut = gold[..gold.IndexOf(ThinkingFormat.Close, StringComparison.Ordinal)];
        var b = ThinkingBehaviour.Measure(task, new CharTokenizer(), [problem, problem], [gold, cut]);
        Assert.Equal((0.5, 0.5), (b.Accuracy, b.ClosedFraction));
    }

    [Fact]
    public void Wrong_completions_are_sorted_by_why_they_failed()
    {
        // Given one problem's gold DFS completion and four ways of getting it wrong
        var task = new ThinkingTask(Inner, new TraceOptions(TraceStyle.Dfs, 400));
        var problem = Inner.Problems(Split.Test, 1, 4)[0];
        string gold = Solution.Join(task.GoldSolution(problem)!);
        int close = gold.IndexOf(ThinkingFormat.Close, StringComparison.Ordinal);
        string thinking = gold[..close], answer = gold[close..];
        string target = $"{CountdownPuzzle.Parse(problem.Prompt).Target}";
        string wrongAnswer = answer.Replace("#" + target, "#" + (int.Parse(target) + 1));
        var unclosed = thinking;                                                          // cut inside its thinking
        var answeredWrong = thinking + wrongAnswer;                                        // solved, then a wrong final answer
        var slipped = thinking.Replace("yes: " + target, "yes: " + (int.Parse(target) + 1)) + wrongAnswer; // a false verdict
        var stopped = ThinkingFormat.Open + "\n" + wrongAnswer;                         // closed at once: no search at all
        Assert.Contains("yes: " + target, thinking);

        // When their failures are counted
        var f = ThinkingBehaviour.Failures(task, [problem, problem, problem, problem, problem],
            [gold, unclosed, answeredWrong, slipped, stopped]);

        // Then each wrong one lands in its own class and the right one in none
        Assert.Equal(new FailureCounts(Wrong: 4, Unclosed: 1, SolvedThenWrongAnswer: 1, Slipped: 1, EndedUnsolved: 1), f);
    }

    [Fact]
    public void Equal_token_estimate_matches_what_the_sft_batch_counts()
    {
        // Given the trace task, whose batches lose the problems dropped by the expansion bound
        var task = TaskRegistry.Create("think:countdown:numbers=3,style=dfs,expansions=12");
        var tokenizer = new CharTokenizer();

        // When tokens per step are estimated over one step
        double estimate = EqualTokenSft.TokensPerStep(task, tokenizer, batchSize: 16, seed: 3, sampleSteps: 1);

        // Then it is the non-padding input count of SFT's own batch 1
        var (inputs, _, _) = SftBatch.Build(tokenizer, SftTrainer.BatchExamples(task, 3, 1, 16), CPU);
        Assert.Equal(inputs.ne(tokenizer.Pad).sum().item<long>(), (long)estimate);
        Assert.True(SftTrainer.BatchExamples(task, 3, 1, 16).Count < 16, "some problems are dropped");
    }

    [Fact]
    public void Think_traces_command_prints_the_length_table_and_bad_verbs_are_usage_errors()
    {
        var output = new StringWriter();
        var saved = Console.Out;
        Console.SetOut(output);
        try { Assert.Equal(0, Entry.Run(["think", "traces", "--count", "50", "--show", "1"])); }
        finally { Console.SetOut(saved); }
        Assert.Contains("| dfs |", output.ToString());
        Assert.Contains("<think>\n", output.ToString());
        Assert.Equal(2, Entry.Run(["think", "ponder"], new StringWriter()));
        var both = new StringWriter();
        Assert.Equal(2, Entry.Run(["think", "traces", "--path", "--path-back"], both));
        Assert.Contains("--path or --path-back, not both", both.ToString());
        Assert.Equal(2, Entry.Run(["think-scale", "--budgets", "8", "--checkpoint"], new StringWriter()));
        // "scale --thinking" goes to the thinking sweep, whose options it then checks
        var error = new StringWriter();
        Assert.Equal(2, Entry.Run(["scale", "--thinking", "--budgets", "x"], error));
        Assert.Contains("think scale: option '--budgets' expects values in 0..65536 separated by commas, got 'x'", error.ToString());
    }
}
