using Ponder.Tasks;

namespace Ponder.Tests.Tasks;

public sealed class ArithTaskTests
{
    private static readonly ArithTask Arith = new();

    // The worked example of the step format: 347 + 128 = 475, × 3 = 1425, − 219 = 1206.
    private static readonly Problem Example = new("example", "347 +128 *3 -219\n", "1206");

    private const string Gold = "347+128=475\n475*3=1425\n1425-219=1206\n#1206\n";

    [Fact]
    public void Arith_gold_solution_computes_left_to_right_one_line_per_operation()
    {
        // Given the worked example
        // When the task writes its gold solution
        var gold = Arith.GoldSolution(Example);

        // Then each line is one operation on the previous result, then the final answer
        Assert.Equal(["347+128=475", "475*3=1425", "1425-219=1206", "#1206"], gold);
    }

    [Fact]
    public void Arith_prompts_respect_the_options()
    {
        // Given a task with two-digit numbers, four steps and only - and *
        var task = new ArithTask(new ArithOptions(Steps: 4, Digits: 2, Ops: "*-"));

        // When problems are drawn
        var problems = task.Problems(Split.Train, 300, seed: 3);

        // Then each prompt is a two-digit start and four operations; * takes 2..9, - and + take two digits
        foreach (var problem in problems)
        {
            Assert.EndsWith("\n", problem.Prompt);
            string[] tokens = problem.Prompt.TrimEnd('\n').Split(' ');
            Assert.Equal(5, tokens.Length);
            Assert.InRange(int.Parse(tokens[0]), 10, 99);
            foreach (string token in tokens.Skip(1))
            {
                int operand = int.Parse(token[1..]);
                if (token[0] == '*')
                {
                    Assert.InRange(operand, 2, 9);
                }
                else
                {
                    Assert.InRange(operand, 10, 99);
                }
            }
        }
        Assert.Contains(problems, p => p.Prompt.Contains('-'));
        Assert.Contains(problems, p => p.Prompt.Contains('*'));
    }

    [Fact]
    public void Arith_subtraction_never_goes_negative_and_falls_back_to_addition()
    {
        // Given a task that draws only subtractions from one-digit numbers
        var task = new ArithTask(new ArithOptions(Steps: 8, Digits: 1, Ops: "-"));

        // When problems are drawn and solved
        var problems = task.Problems(Split.Train, 300, seed: 5);
        var results = problems.SelectMany(p => task.GoldSolution(p).SkipLast(1)).Select(line => long.Parse(line.Split('=')[1]));

        // Then no intermediate is negative, and a - drawn at 0 became a +
        Assert.All(results, r => Assert.True(r >= 0));
        Assert.Contains(problems, p => p.Prompt.Contains('+'));
    }

    [Fact]
    public void Arith_gold_solution_is_correct_and_well_formed()
    {
        // Given the gold solution of the example
        // When it is checked
        var outcome = Arith.Check(Example, Gold);

        // Then it is correct, well-formed and gives the answer
        Assert.Equal(new Outcome(true, "1206", true), outcome);
    }

    [Fact]
    public void Arith_states_the_answer_as_the_number_so_equal_answers_vote_together()
    {
        var padded = Arith.Check(Example, Gold.Replace("#1206", "#01206"));
        Assert.Equal((true, "1206"), (padded.Correct, padded.Answer));
        Assert.Equal("12x", Arith.Check(Example, Gold.Replace("#1206", "#12x")).Answer);   // not a number: as written
    }

    [Fact]
    public void Arith_reads_up_to_the_final_line_and_ignores_trailing_text()
    {
        // Given a solution followed by junk the policy kept writing
        // When it is checked
        var outcome = Arith.Check(Example, Gold + "#9999\nmore junk");

        // Then only the first final line counts
        Assert.True(outcome.Correct);
        Assert.True(outcome.WellFormed);
        Assert.Equal("1206", outcome.Answer);
    }

    [Fact]
    public void Arith_accepts_windows_line_endings()
    {
        // Given the gold solution with CRLF line endings
        // When it is checked
        var outcome = Arith.Check(Example, Gold.Replace("\n", "\r\n"));

        // Then the carriage returns are not part of the lines
        Assert.True(outcome.Correct);
        Assert.True(outcome.WellFormed);
    }

    [Fact]
    public void Arith_right_answer_without_steps_is_correct_but_not_well_formed()
    {
        // Given only a final line
        // When it is checked
        var outcome = Arith.Check(Example, "#1206\n");

        // Then the answer is right but the solution shows no work
        Assert.True(outcome.Correct);
        Assert.False(outcome.WellFormed);
    }

    [Fact]
    public void Arith_wrong_final_answer_is_incorrect_with_a_reason()
    {
        // Given well-formed steps and a wrong final answer
        // When it is checked
        var outcome = Arith.Check(Example, "347+128=475\n475*3=1425\n1425-219=1200\n#1200\n");

        // Then it is incorrect, still well-formed, and says why
        Assert.False(outcome.Correct);
        Assert.True(outcome.WellFormed);
        Assert.Equal("1200", outcome.Answer);
        Assert.Equal("final answer 1200 is not 1206", outcome.Reason);
    }

    [Fact]
    public void Arith_missing_final_line_is_incorrect_and_not_well_formed()
    {
        // Given all steps but no final line
        // When it is checked
        var outcome = Arith.Check(Example, "347+128=475\n475*3=1425\n1425-219=1206\n");

        // Then there is no answer
        Assert.False(outcome.Correct);
        Assert.False(outcome.WellFormed);
        Assert.Null(outcome.Answer);
        Assert.Contains("no final answer", outcome.Reason);
    }

    [Fact]
    public void Arith_answer_too_big_for_a_long_is_incorrect_and_kept_as_written()
    {
        // Given a final answer that overflows a long
        // When it is checked
        var outcome = Arith.Check(Example, "347+128=475\n#99999999999999999999\n");

        // Then it is incorrect, no exception, and the raw answer is reported
        Assert.False(outcome.Correct);
        Assert.Equal("99999999999999999999", outcome.Answer);
        Assert.NotNull(outcome.Reason);
    }

    [Fact]
    public void Arith_step_with_a_number_too_big_for_a_long_is_malformed()
    {
        // Given a step line with an overflowing operand
        // When it is checked
        var outcome = Arith.Check(Example, "347+99999999999999999999=475\n#1206\n");

        // Then it is not well-formed
        Assert.True(outcome.Correct);
        Assert.False(outcome.WellFormed);
        Assert.False(Arith.CheckStep(Example, ["347+99999999999999999999=475"]));
    }

    [Theory]
    [InlineData("347 + 128 = 475")]
    [InlineData("347+128=475.")]
    [InlineData("347/128=2")]
    [InlineData("")]
    public void Arith_step_not_in_the_a_op_b_equals_c_format_is_malformed(string line)
    {
        // Given a solution with one off-format line
        // When it is checked
        var outcome = Arith.Check(Example, line + "\n475*3=1425\n1425-219=1206\n#1206\n");

        // Then the answer still counts but the solution is not well-formed
        Assert.True(outcome.Correct);
        Assert.False(outcome.WellFormed);
    }

    [Fact]
    public void Arith_CheckStep_finds_the_first_wrong_step_at_its_index()
    {
        // Given a drawn problem whose gold solution has its second step's result changed
        var task = new ArithTask(new ArithOptions(Steps: 5));
        var problem = task.Problems(Split.Test, 1, seed: 11)[0];
        var steps = task.GoldSolution(problem).ToList();
        var parts = steps[1].Split('=');
        steps[1] = $"{parts[0]}={long.Parse(parts[1]) + 1}";

        // When prefixes are checked until one fails
        int firstWrong = Enumerable.Range(1, steps.Count).First(k => !task.CheckStep(problem, steps.Take(k).ToList())) - 1;

        // Then the failure is at index 1, and every longer prefix fails too
        Assert.Equal(1, firstWrong);
        Assert.All(Enumerable.Range(2, steps.Count - 1), k => Assert.False(task.CheckStep(problem, steps.Take(k).ToList())));
    }

    [Theory]
    [InlineData(true, "347+128=475")]
    [InlineData(true, "347+0128=475")]
    [InlineData(false, "347+128=476")]
    [InlineData(false, "347-128=219")]
    [InlineData(false, "348+127=475")]
    [InlineData(false, "347+128=475 ")]
    [InlineData(false, "475*3=1425")]
    [InlineData(false, "#1206")]
    [InlineData(true, "347+128=475", "475*3=1425", "1425-219=1206", "#1206")]
    [InlineData(false, "347+128=475", "475*3=1425", "1425-219=1206", "#1207")]
    [InlineData(false, "347+128=475", "475*3=1425", "1425-219=1206", "#1206", "1206+0=1206")]
    [InlineData(false, "347+128=475", "475*3=1425", "1425-219=1206", "1206+0=1206")]
    public void Arith_CheckStep_accepts_only_the_exact_next_line_of_the_chain(bool expected, params string[] steps)
    {
        // Given a step prefix of the example
        // When it is checked
        bool label = Arith.CheckStep(Example, steps);

        // Then it is right only if every line is the gold next computation (numbers compared by value)
        Assert.Equal(expected, label);
    }

    [Fact]
    public void Arith_CheckStep_of_no_steps_is_true()
    {
        // Given an empty prefix
        // When it is checked
        // Then nothing is wrong yet
        Assert.True(Arith.CheckStep(Example, []));
    }

    [Theory]
    [InlineData(0, 3, "+-*", "option 'steps' must be in 1..8, got 0")]
    [InlineData(3, 7, "+-*", "option 'digits' must be in 1..6, got 7")]
    [InlineData(3, 3, "+/", "option 'ops' must be a non-empty subset of +-*, got '+/'")]
    [InlineData(3, 3, "", "option 'ops' must be a non-empty subset of +-*, got ''")]
    public void Arith_rejects_options_out_of_range(int steps, int digits, string ops, string message)
    {
        // Given invalid options
        // When a task is built from them
        var error = Assert.Throws<ArgumentException>(() => new ArithTask(new ArithOptions(steps, digits, ops)));

        // Then the error names the option and the problem
        Assert.Equal("task 'arith': " + message, error.Message);
    }
}
