using Ponder.Tasks;
using Ponder.Thinking;

namespace Ponder.Tests.Thinking;

public sealed class ThinkingTaskTests
{
    static readonly CountdownTask Inner = new(new CountdownOptions(Numbers: 3));
    static readonly ThinkingTask Task = new(Inner, new TraceOptions(TraceStyle.Dfs, 400));

    static (Problem Problem, string Answer) Solved()
    {
        var problem = Inner.Problems(Split.Test, 1, 0)[0];
        return (problem, Solution.Join(Inner.GoldSolution(problem)!));
    }

    [Fact]
    public void Check_judges_only_the_answer_after_the_thinking_section()
    {
        var (problem, answer) = Solved();
        // Given nonsense thinking (a wrong final line and a bad step inside) followed by a right answer
        string noisy = "<think>\n1+1=3\n#999\nno: 1 != 2\n</think>\n" + answer;
        // and right thinking followed by a wrong answer
        string gold = Solution.Join(Task.GoldSolution(problem)!);
        string wrongAnswer = gold[..(gold.IndexOf(ThinkingFormat.Close, StringComparison.Ordinal) + ThinkingFormat.Close.Length)] + "\n1+1=2\n#2";

        Assert.True(Task.Check(problem, noisy).Correct);
        Assert.False(Task.Check(problem, wrongAnswer).Correct);
        Assert.True(Task.Check(problem, gold).Correct);
    }

    [Fact]
    public void An_unclosed_thinking_section_is_wrong_even_if_it_holds_the_answer()
    {
        var (problem, answer) = Solved();
        var outcome = Task.Check(problem, "<think>\n" + answer);
        Assert.False(outcome.Correct);
        Assert.False(outcome.WellFormed);
        // Without any markers the completion is all answer
        Assert.True(Task.Check(problem, answer).Correct);
    }

    [Fact]
    public void Registry_builds_think_specs_with_a_canonical_name_and_keeps_old_specs()
    {
        var task = TaskRegistry.Create("think:countdown:numbers=3,style=bfs,expansions=30");
        Assert.Equal("think:countdown:numbers=3,max=25,target=100,style=bfs,expansions=30,fallback=drop", task.Name);
        Assert.Equal(task.Name, TaskRegistry.Create(task.Name).Name);
        Assert.Equal("think:arith:steps=3,digits=3,ops=+-*,style=optimal,expansions=24,fallback=drop", TaskRegistry.Create("think:arith,style=optimal").Name);
        Assert.Equal("countdown:numbers=4,max=25,target=100", TaskRegistry.Create("countdown").Name);
        var heuristic = (ThinkingTask)TaskRegistry.Create("think:countdown:numbers=3,style=heuristic,fallback=optimal");
        Assert.Equal((TraceStyle.Heuristic, TraceFallback.Optimal), (heuristic.Options.Style, heuristic.Options.Fallback));
        Assert.Equal(heuristic.Name, TaskRegistry.Create(heuristic.Name).Name);
        Assert.Contains("style", Assert.Throws<ArgumentException>(() => TaskRegistry.Create("think:countdown,style=zigzag")).Message);
        Assert.Contains("countdown", Assert.Throws<ArgumentException>(() => TaskRegistry.Create("think:arith,style=dfs")).Message);
        Assert.Contains("numbers", Assert.Throws<ArgumentException>(() => TaskRegistry.Create("think:countdown:numbers=9")).Message);
    }

    [Fact]
    public void Problems_are_the_inner_tasks_and_gold_solutions_fit_the_format()
    {
        var problems = Task.Problems(Split.Train, 5, 9);
        Assert.Equal(Inner.Problems(Split.Train, 5, 9).Select(p => p.Prompt), problems.Select(p => p.Prompt));
        foreach (var p in problems)
        {
            var gold = Task.GoldSolution(p)!;
            Assert.Equal(ThinkingFormat.Open, gold[0]);
            Assert.Equal(1, gold.Count(l => l == ThinkingFormat.Close));
            Assert.DoesNotContain(gold.TakeWhile(l => l != ThinkingFormat.Close), l => l.StartsWith('#'));
            Assert.Equal("#" + p.Answer, gold[^1]);
        }
    }

    [Fact]
    public void A_jsonl_task_keeps_its_path_and_countdown_only_options_are_refused_for_other_tasks()
    {
        using var dir = new TempDirectory();
        string file = dir.Write("q.jsonl", """{"question": "1 +2", "answer": "add\n#### 3"}""", """{"question": "2 +2", "answer": "add\n#### 4"}""");

        var task = (ThinkingTask)TaskRegistry.Create($"think:jsonl:path={file},style=optimal");

        Assert.IsType<JsonlTask>(task.Inner);
        Assert.Contains("option 'path' marks the moves", Assert.Throws<ArgumentException>(() => TaskRegistry.Create("think:arith,style=optimal,path=1")).Message);
        Assert.Contains("option 'fallback'", Assert.Throws<ArgumentException>(() => TaskRegistry.Create("think:arith,style=optimal,fallback=optimal")).Message);
    }

    [Fact]
    public void Maxlen_drops_the_gold_traces_of_other_tasks_that_are_longer()
    {
        var loose = (ThinkingTask)TaskRegistry.Create("think:arith,style=optimal");
        var problem = loose.Problems(Split.Train, 1, 0)[0];
        int length = Solution.Join(loose.GoldSolution(problem)!).Length;

        var tight = (ThinkingTask)TaskRegistry.Create($"think:arith,style=optimal,maxlen={length - 1}");
        var exact = (ThinkingTask)TaskRegistry.Create($"think:arith,style=optimal,maxlen={length}");

        Assert.Null(tight.GoldSolution(problem));
        Assert.Equal(loose.GoldSolution(problem), exact.GoldSolution(problem));
    }
}
