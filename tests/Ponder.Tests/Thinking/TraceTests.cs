using Ponder.Policy;
using Ponder.Tasks;
using Ponder.Thinking;

namespace Ponder.Tests.Thinking;

public sealed class TraceTests
{
    static readonly TraceStyle[] Styles = Enum.GetValues<TraceStyle>();

    [Theory]
    [InlineData(TraceStyle.OptimalOnly, 3)]
    [InlineData(TraceStyle.Dfs, 3)]
    [InlineData(TraceStyle.Bfs, 3)]
    [InlineData(TraceStyle.BestFirst, 3)]
    [InlineData(TraceStyle.Dfs, 4)]
    [InlineData(TraceStyle.Bfs, 4)]
    [InlineData(TraceStyle.BestFirst, 4)]
    [InlineData(TraceStyle.Heuristic, 3)]
    [InlineData(TraceStyle.Heuristic, 4)]
    public void Every_trace_replays_cleanly_and_its_answer_verifies(TraceStyle style, int numbers)
    {
        // Given 300 seeded countdown problems and a generous bound
        var inner = new CountdownTask(new CountdownOptions(Numbers: numbers));
        var task = new ThinkingTask(inner, new TraceOptions(style, MaxExpansions: 400));
        var problems = inner.Problems(Split.Train, 300, seed: 11);
        int kept = 0;
        foreach (var problem in problems)
        {
            // When each is traced
            var trace = task.Trace(problem);
            if (trace is null) continue;
            kept++;
            var completion = Solution.Join(task.GoldSolution(problem)!);

            // Then replaying the thinking finds no wrong line, every backtrack returns to a real earlier state,
            // the counts match the tracer's, and the answer verifies with the countdown verifier
            var stats = task.Read(problem, completion)!;
            Assert.True(stats.InvalidLines == 0 && stats.InvalidBacktracks == 0 && stats.OtherLines == 0,
                $"{problem.Prompt}{completion}\n{stats}");
            Assert.True(stats.Solved);
            Assert.Equal((trace.Expansions, trace.DeadEnds, trace.Backtracks), (stats.Tries, stats.DeadEnds, stats.Backtracks));
            Assert.True(inner.Check(problem, Solution.Join(trace.Answer)).Correct, completion);
            Assert.True(task.Check(problem, completion).Correct);
        }
        // 3 numbers: every search ends within the bound; 4 numbers: depth-first trees can be larger
        Assert.True(kept >= (numbers == 3 ? 300 : 250), $"only {kept} of 300 traced within 400 expansions");
    }

    [Theory]
    [InlineData(TraceStyle.OptimalOnly, 4)]
    [InlineData(TraceStyle.Dfs, 4)]
    [InlineData(TraceStyle.Heuristic, 4)]
    [InlineData(TraceStyle.Bfs, 3)]
    [InlineData(TraceStyle.BestFirst, 3)]
    public void With_paths_every_state_line_carries_the_moves_that_lead_to_it_and_the_answer_copies_one(TraceStyle style, int numbers)
    {
        // Given traces whose state lines carry their paths
        var inner = new CountdownTask(new CountdownOptions(Numbers: numbers));
        var task = PathTask(style, numbers, "1", TracePath.States);
        int withPaths = 0;
        bool frontier = style is TraceStyle.Bfs or TraceStyle.BestFirst;
        foreach (var problem in inner.Problems(Split.Train, 100, seed: 11))
        {
            var trace = task.Trace(problem);
            if (trace is null) continue;
            var puzzle = CountdownPuzzle.Parse(problem.Prompt);
            List<StepLine> lastPath = [];
            foreach (var raw in trace.Thinking)
            {
                // When each state line's path is replayed from the puzzle's numbers
                string line = raw.StartsWith(TraceLines.Back, StringComparison.Ordinal) ? raw[TraceLines.Back.Length..] : raw;
                if (TraceLines.ParseState(line, puzzle.Target, out _) is null) continue;   // a move or a verdict
                if (line.Contains(TraceLines.PathMark, StringComparison.Ordinal)) withPaths++;

                // Then it reaches the numbers the line states
                var moves = ReplayedPath(line, puzzle);
                if (!frontier || raw.StartsWith(TraceLines.Back, StringComparison.Ordinal)) lastPath = moves;   // the node being expanded
            }
            // And the answer is the path of the state being expanded (depth first: the last state line; frontier
            // styles: the last "back to" line, since its children's lines follow it) plus the move that solved
            var solving = trace.Thinking[^2];
            Assert.StartsWith(TraceLines.Try, solving);
            Assert.Equal([.. lastPath.Select(m => m.ToString()), solving[TraceLines.Try.Length..]], trace.Answer.SkipLast(1));
            Assert.True(task.Check(problem, Solution.Join(task.GoldSolution(problem)!)).Correct);
            Assert.Equal(0, task.Read(problem, Solution.Join(task.GoldSolution(problem)!))!.InvalidLines);
        }
        Assert.True(withPaths > 100, $"only {withPaths} state lines with paths");
        Assert.Throws<ArgumentException>(() => TaskRegistry.Create("think:countdown,style=dfs,path=2"));
    }

    [Theory]
    [InlineData(TraceStyle.Dfs, 4)]
    [InlineData(TraceStyle.Heuristic, 4)]
    [InlineData(TraceStyle.Bfs, 3)]
    [InlineData(TraceStyle.BestFirst, 3)]
    public void With_back_paths_only_back_to_lines_carry_paths_and_the_answer_is_the_last_ones_plus_the_moves_after_it(TraceStyle style, int numbers)
    {
        // Given traces whose "back to" lines, and no other lines, carry their paths
        var inner = new CountdownTask(new CountdownOptions(Numbers: numbers));
        var task = PathTask(style, numbers, "back", TracePath.BackTo);
        bool frontier = style is TraceStyle.Bfs or TraceStyle.BestFirst;
        int backtracked = 0;
        foreach (var problem in inner.Problems(Split.Train, 100, seed: 11))
        {
            var trace = task.Trace(problem);
            if (trace is null) continue;
            var puzzle = CountdownPuzzle.Parse(problem.Prompt);
            List<string> answer = [];
            for (int i = 0; i < trace.Thinking.Count; i++)
            {
                string raw = trace.Thinking[i];
                bool back = raw.StartsWith(TraceLines.Back, StringComparison.Ordinal);
                if (!back)
                {
                    // When a line is not a "back to" line, it carries no path; a move that led to a state (depth first),
                    // or the move that solved, joins the answer being read
                    Assert.DoesNotContain(TraceLines.PathMark, raw, StringComparison.Ordinal);
                    bool leadsOn = i + 1 < trace.Thinking.Count && TraceLines.ParseState(trace.Thinking[i + 1], puzzle.Target, out _) is not null;
                    if (raw.StartsWith(TraceLines.Try, StringComparison.Ordinal) && (trace.Thinking[i + 1] == TraceLines.Solved(puzzle.Target) || (!frontier && leadsOn)))
                        answer.Add(raw[TraceLines.Try.Length..]);
                    continue;
                }
                // Then a "back to" line's path replays from the puzzle's numbers to the state it names, and starts the answer again
                answer = [.. ReplayedPath(raw[TraceLines.Back.Length..], puzzle).Select(m => m.ToString())];
                backtracked++;
            }
            // And the last "back to" line's path and the moves after it are the answer
            Assert.Equal(answer, trace.Answer.SkipLast(1));
            Assert.True(task.Check(problem, Solution.Join(task.GoldSolution(problem)!)).Correct);
            Assert.Equal(0, task.Read(problem, Solution.Join(task.GoldSolution(problem)!))!.InvalidLines);
        }
        Assert.True(backtracked > 50, $"only {backtracked} back-to lines");
    }

    // The think task of countdown traces with path=<paramref name="path"/>, which its options and name must show.
    static ThinkingTask PathTask(TraceStyle style, int numbers, string path, TracePath expected)
    {
        var task = (ThinkingTask)TaskRegistry.Create($"think:countdown:numbers={numbers},style={ThinkingTaskSpec.StyleName(style)},expansions=400,path={path}");
        Assert.Equal(expected, task.Options.Path);
        Assert.EndsWith($",path={path}", task.Name);
        return task;
    }

    // The moves a state line carries after its path mark (none: the puzzle's own numbers), after asserting that they
    // lead from the puzzle's numbers to the state the line names.
    static List<StepLine> ReplayedPath(string stateLine, CountdownPuzzle puzzle)
    {
        int mark = stateLine.IndexOf(TraceLines.PathMark, StringComparison.Ordinal);
        var moves = mark < 0 ? []
            : stateLine[(mark + TraceLines.PathMark.Length)..].Split(' ').Select(m => StepLine.TryParse(m, out var step) ? step : throw new Xunit.Sdk.XunitException($"bad move '{m}' in '{stateLine}'")).ToList();
        long[]? state = [.. puzzle.Numbers.Order()];
        foreach (var move in moves) state = state is null ? null : TraceLines.Play(state, move);
        Assert.NotNull(state);
        Assert.True(TraceLines.SameState(state!, TraceLines.ParseState(stateLine, puzzle.Target, out _)!), stateLine);
        return moves;
    }

    [Fact]
    public void Search_styles_explore_and_backtrack_while_the_optimal_style_does_not()
    {
        var inner = new CountdownTask(new CountdownOptions(Numbers: 3));
        var problems = inner.Problems(Split.Train, 200, seed: 3);
        foreach (var style in Styles)
        {
            var traces = problems.Select(new ThinkingTask(inner, new TraceOptions(style, 400)).Trace).OfType<SearchTrace>().ToList();
            double deadEnds = traces.Average(t => t.DeadEnds), backtracks = traces.Average(t => t.Backtracks);
            if (style == TraceStyle.OptimalOnly) Assert.Equal((0.0, 0.0), (deadEnds, backtracks));
            else Assert.True(deadEnds > 0.5 && backtracks > 0.3, $"{style}: {deadEnds} dead ends, {backtracks} backtracks");
        }
    }

    [Fact]
    public void Heuristic_traces_try_one_move_per_two_number_state_and_need_fewer_expansions_than_dfs()
    {
        // Given 200 three-number problems traced depth first in the fixed order and in the heuristic order
        var inner = new CountdownTask(new CountdownOptions(Numbers: 3, Max: 9, Target: 50));
        var problems = inner.Problems(Split.Train, 200, seed: 4);
        var dfs = new ThinkingTask(inner, new TraceOptions(TraceStyle.Dfs, 400));
        var heuristic = new ThinkingTask(inner, new TraceOptions(TraceStyle.Heuristic, 400));
        var traces = problems.Select(heuristic.Trace).ToList();

        // Then every two-number state is followed by exactly one try and its verdict, and that try is the closest move
        foreach (var (problem, trace) in problems.Zip(traces))
        {
            Assert.NotNull(trace);
            var lines = trace.Thinking;
            for (int i = 1; i + 2 < lines.Count; i++)
            {
                if (lines[i].StartsWith("try ", StringComparison.Ordinal) || lines[i].StartsWith("no: ", StringComparison.Ordinal)) continue;
                string stateLine = lines[i].StartsWith("back to ", StringComparison.Ordinal) ? lines[i]["back to ".Length..] : lines[i];
                var numbers = stateLine[..stateLine.IndexOf(" -> ", StringComparison.Ordinal)].Split(' ').Select(long.Parse).ToArray();
                if (numbers.Length != 2) continue;
                long target = long.Parse(problem.Answer, System.Globalization.CultureInfo.InvariantCulture);
                Assert.True(StepLine.TryParse(lines[i + 1]["try ".Length..], out var step), lines[i + 1]);
                long best = new[] { numbers[0] + numbers[1], numbers[1] - numbers[0], numbers[0] * numbers[1] }
                    .Concat(numbers[0] != 0 && numbers[1] % numbers[0] == 0 ? [numbers[1] / numbers[0]] : [])
                    .Where(r => r != numbers[0] && r != numbers[1] && r != 0).MinBy(r => Math.Abs(target - r));
                Assert.Equal(Math.Abs(target - best), Math.Abs(target - step.C));
                Assert.True(lines[i + 2].StartsWith("no: ", StringComparison.Ordinal) || lines[i + 2].StartsWith("yes: ", StringComparison.Ordinal), lines[i + 2]);
                Assert.True(i + 3 >= lines.Count || !lines[i + 3].StartsWith("try ", StringComparison.Ordinal), string.Join('\n', lines));
            }
        }
        double heuristicMean = traces.Average(t => t!.Expansions);
        double dfsMean = problems.Select(dfs.Trace).Average(t => t!.Expansions);
        Assert.True(heuristicMean < dfsMean / 1.5, $"heuristic {heuristicMean:F1} vs dfs {dfsMean:F1} expansions");
    }

    [Fact]
    public void The_replay_flags_a_backtrack_to_a_state_off_the_path_and_a_wrong_verdict()
    {
        // Given a real DFS trace with a backtrack
        var inner = new CountdownTask(new CountdownOptions(Numbers: 3));
        var task = new ThinkingTask(inner, new TraceOptions(TraceStyle.Dfs, 400));
        var problem = inner.Problems(Split.Train, 200, seed: 5).First(p => task.Trace(p) is { Backtracks: > 0 });
        string gold = Solution.Join(task.GoldSolution(problem)!);
        int at = gold.IndexOf("back to ", StringComparison.Ordinal);
        int end = gold.IndexOf('\n', at);

        // When the backtrack names a state never on the path, or a dead end states the wrong number
        string offPath = gold[..at] + "back to 1 2 3 -> " + problem.Answer + gold[end..];
        int no = gold.IndexOf("no: ", StringComparison.Ordinal);
        string wrongVerdict = gold[..(no + 4)] + "999999" + gold[gold.IndexOf(' ', no + 4)..];

        // or a state line names another target
        int arrow = gold.IndexOf(" -> ", gold.IndexOf("try ", StringComparison.Ordinal), StringComparison.Ordinal);
        string wrongTarget = gold[..(arrow + 4)] + "999999" + gold[gold.IndexOf('\n', arrow)..];

        // Then the replay counts them
        Assert.Equal(1, task.Read(problem, offPath)!.InvalidBacktracks);
        Assert.True(task.Read(problem, wrongVerdict)!.InvalidLines >= 1);
        Assert.Equal(1, task.Read(problem, wrongTarget)!.InvalidLines);
        Assert.Equal(0, task.Read(problem, gold)!.InvalidLines);
    }

    [Fact]
    public void A_tight_bound_drops_or_falls_back_as_configured()
    {
        var inner = new CountdownTask(new CountdownOptions(Numbers: 4));
        var problems = inner.Problems(Split.Train, 100, seed: 2);
        var drop = new ThinkingTask(inner, new TraceOptions(TraceStyle.Bfs, MaxExpansions: 8, TraceFallback.Drop));
        var fallBack = new ThinkingTask(inner, new TraceOptions(TraceStyle.Bfs, MaxExpansions: 8, TraceFallback.Optimal));
        int dropped = problems.Count(p => drop.GoldSolution(p) is null);
        Assert.InRange(dropped, 1, 99);
        Assert.All(problems, p => Assert.NotNull(fallBack.GoldSolution(p)));
        Assert.All(problems.Where(p => drop.Trace(p) is not null), p => Assert.True(drop.Trace(p)!.Expansions <= 8));
    }

    [Fact]
    public void A_length_limit_keeps_every_gold_completion_within_it()
    {
        var inner = new CountdownTask(new CountdownOptions(Numbers: 3));
        var task = (ThinkingTask)TaskRegistry.Create("think:countdown:numbers=3,style=dfs,expansions=400,maxlen=200");
        Assert.EndsWith(",maxlen=200", task.Name);
        var golds = inner.Problems(Split.Train, 300, 8).Select(task.GoldSolution).ToList();
        Assert.All(golds.OfType<IReadOnlyList<string>>(), g => Assert.True(Solution.Join(g).Length <= 200));
        Assert.InRange(golds.Count(g => g is null), 1, 299);
    }

    [Fact]
    public void Length_report_has_a_row_per_style_with_search_longer_than_the_optimal_path()
    {
        var rows = TraceLengths.Measure(new CountdownTask(new CountdownOptions(Numbers: 3)), new TraceOptions(MaxExpansions: 24),
            Styles, new CharTokenizer(), count: 200, seed: 1);
        Assert.Equal(Styles.Length, rows.Count);
        var optimal = rows.Single(r => r.Style == TraceStyle.OptimalOnly);
        Assert.Equal(0, optimal.Dropped);
        foreach (var r in rows.Where(r => r.Style != TraceStyle.OptimalOnly))
        {
            Assert.True(r.MeanTokens > optimal.MeanTokens, $"{r.Style}: {r.MeanTokens} vs optimal {optimal.MeanTokens}");
            Assert.True(r.MaxTokens >= r.MeanTokens && r.MeanThinkingTokens < r.MeanTokens);
        }
        string markdown = TraceLengths.ToMarkdown(rows);
        Assert.Contains("| dfs |", markdown);
        Console.WriteLine(markdown);
    }

    [Fact]
    public void A_problem_dropped_even_after_the_fallback_is_counted_dropped_not_fallen_back()
    {
        // Given DFS traces falling back to the optimal trace, under a length cap that some optimal traces exceed too
        var inner = new CountdownTask(new CountdownOptions(Numbers: 3));
        var options = new TraceOptions(TraceStyle.Dfs, 6, TraceFallback.Optimal, MaxLength: 75);
        var problems = inner.Problems(Split.Train, 60, 4);
        var strict = new ThinkingTask(inner, options with { Fallback = TraceFallback.Drop });

        // When their lengths are measured
        var row = TraceLengths.Measure(inner, options, [TraceStyle.Dfs], new Ponder.Policy.CharTokenizer(), 60, 4)[0];

        // Then each problem is kept by the search, fell back, or dropped: exactly one of the three
        int searched = problems.Count(p => strict.Trace(p) is not null);
        Assert.True(row.Dropped > 0 && row.FellBack > 0, $"dropped {row.Dropped}, fell back {row.FellBack}");
        Assert.Equal(row.Problems, searched + row.FellBack + row.Dropped);
    }
}
