using Ponder.Tasks;

namespace Ponder.Tests.Tasks;

public sealed class CountdownTaskTests
{
    private static readonly CountdownTask Countdown = new();

    // (7 − 3) × 25 = 100 is a shortest solution.
    private static readonly Problem Example = new("example", "3 7 25 50 -> 100\n", "100");

    [Fact]
    public void Countdown_prompts_list_inputs_in_range_then_a_target_in_range_not_among_them()
    {
        // Given the default task (4 numbers in 1..25, targets in 10..100)
        // When problems are drawn
        var problems = Countdown.Problems(Split.Train, 300, seed: 9);

        // Then each prompt is "n n n n -> t" with the options' ranges and the target not an input
        foreach (var problem in problems)
        {
            Assert.Matches(@"^\d+ \d+ \d+ \d+ -> \d+\n$", problem.Prompt);
            string[] sides = problem.Prompt.TrimEnd('\n').Split(" -> ");
            int[] inputs = sides[0].Split(' ').Select(int.Parse).ToArray();
            int target = int.Parse(sides[1]);
            Assert.All(inputs, n => Assert.InRange(n, 1, 25));
            Assert.InRange(target, 10, 100);
            Assert.DoesNotContain(target, inputs);
            Assert.Equal(sides[1], problem.Answer);
        }
    }

    [Fact]
    public void Countdown_gold_solution_is_a_shortest_one()
    {
        // Given the example, which needs two steps, and a one-step problem
        var oneStep = new Problem("one", "3 7 -> 21\n", "21");

        // When the solver writes gold solutions
        var gold = Countdown.GoldSolution(Example);
        var short1 = Countdown.GoldSolution(oneStep);

        // Then they use the fewest steps and end with the target
        Assert.NotNull(gold);
        Assert.Equal(3, gold.Count);
        Assert.Equal("#100", gold[^1]);
        Assert.Equal(["7*3=21", "#21"], short1);
    }

    [Fact]
    public void Countdown_gold_solution_is_never_longer_than_a_brute_force_search_needs()
    {
        // Given 100 drawn problems
        var problems = Countdown.Problems(Split.Test, 100, seed: 21);

        foreach (var problem in problems)
        {
            // When the gold solution is compared with the fewest steps found by plain enumeration
            string[] sides = problem.Prompt.TrimEnd('\n').Split(" -> ");
            long[] inputs = sides[0].Split(' ').Select(long.Parse).ToArray();
            int goldSteps = Countdown.GoldSolution(problem)!.Count - 1;

            // Then no solution is shorter
            Assert.Equal(FewestSteps(inputs, long.Parse(sides[1])), goldSteps);
        }
    }

    // Breadth-first over every multiset reachable by valid moves, level by level; independent of the task's solver.
    private static int FewestSteps(long[] inputs, long target)
    {
        var level = new List<long[]> { inputs };
        for (int steps = 1; level.Count > 0; steps++)
        {
            var next = new List<long[]>();
            foreach (var numbers in level)
            {
                for (int i = 0; i < numbers.Length; i++)
                {
                    for (int j = 0; j < numbers.Length; j++)
                    {
                        long a = numbers[i], b = numbers[j];
                        long?[] results = i == j ? [] : [a + b, a - b >= 0 ? a - b : null, a * b, b != 0 && a % b == 0 ? a / b : null];
                        foreach (long r in results.OfType<long>())
                        {
                            if (r == target)
                            {
                                return steps;
                            }
                            next.Add([.. numbers.Where((_, k) => k != i && k != j), r]);
                        }
                    }
                }
            }
            level = next;
        }
        return -1;
    }

    [Fact]
    public void Countdown_gold_solution_of_an_unreachable_target_is_null()
    {
        // Given a target no combination makes
        var impossible = new Problem("x", "1 2 -> 97\n", "97");

        // When the solver is asked
        // Then there is no gold solution, and even the empty prefix is a dead end
        Assert.Null(Countdown.GoldSolution(impossible));
        Assert.False(Countdown.CheckStep(impossible, []));
    }

    [Fact]
    public void Countdown_valid_solution_is_correct_and_well_formed()
    {
        // Given a valid solution written in another order than the gold one, with junk after the final line
        // When it is checked
        var outcome = Countdown.Check(Example, "7-3=4\n25*4=100\n#100\nthanks!");

        // Then it is correct
        Assert.Equal(new Outcome(true, "100", true), outcome);
    }

    [Theory]
    [InlineData("25+25=50\n50+50=100\n#100", "step 1: 25 is not available")]
    [InlineData("7-3=4\n4*25=100\n4+3=7\n#100", "step 3: 4 is not available")]
    [InlineData("2*50=100\n#100", "step 1: 2 is not available")]
    [InlineData("50/3=16\n#100", "step 1: 50/3 is not an integer")]
    [InlineData("3-7=-4\n#100", "step 1: 3-7 is negative")]
    [InlineData("7-3=5\n5*25=125\n#100", "step 1: 7-3 is 4, not 5")]
    [InlineData("7-3=4\n4+25=29\n#100", "the last step makes 29, not the target 100")]
    [InlineData("7-3=4\n4*25=100\n#99", "final answer '99' is not the target 100")]
    [InlineData("7-3=4\n4*25=100\n# one hundred", "final answer 'one hundred' is not the target 100")]
    [InlineData("#100", "no steps")]
    public void Countdown_rejects_an_invalid_well_formed_solution_naming_the_first_problem(string completion, string reason)
    {
        // Given a solution whose lines all parse but which breaks a rule
        // When it is checked
        var outcome = Countdown.Check(Example, completion);

        // Then it is incorrect and the reason names the first problem
        Assert.False(outcome.Correct);
        Assert.Equal(reason, outcome.Reason);
    }

    [Fact]
    public void Countdown_rejects_division_by_zero()
    {
        // Given a problem with a repeated number, so a zero can be made, then divided by
        var problem = new Problem("zero", "5 5 10 20 -> 40\n", "40");

        // When the division by zero is checked
        var outcome = Countdown.Check(problem, "5-5=0\n10/0=0\n#40");

        // Then it is rejected at that step, and the prefix is not a valid process
        Assert.False(outcome.Correct);
        Assert.Equal("step 2: 10/0 divides by zero", outcome.Reason);
        Assert.False(Countdown.CheckStep(problem, ["5-5=0", "10/0=0"]));
    }

    [Fact]
    public void Countdown_rejects_a_product_that_overflows_a_long()
    {
        // Given large inputs whose product overflows a long
        var problem = new Problem("big", "1000000 1000000 1000000 1000000 -> 100\n", "100");

        // When a step multiplies past the range of a long
        var outcome = Countdown.Check(problem, "1000000*1000000=1000000000000\n1000000000000*1000000=1000000000000000000\n1000000000000000000*1000000=0\n#100");

        // Then it is rejected with a reason, not an exception
        Assert.False(outcome.Correct);
        Assert.Equal("step 3: 1000000000000000000*1000000 overflows", outcome.Reason);
    }

    [Theory]
    [InlineData("99999999999999999999+1=3\n#100", "step 1")]
    [InlineData("7 - 3 = 4\n4*25=100\n#100", "step 1")]
    [InlineData("7-3=4\nthen 4*25=100\n#100", "step 2")]
    [InlineData("7-3=4\n\n4*25=100\n#100", "step 2")]
    public void Countdown_malformed_line_makes_the_solution_malformed_and_incorrect(string completion, string step)
    {
        // Given a solution with a line that is not a op b=c (or has a number too big for a long)
        // When it is checked
        var outcome = Countdown.Check(Example, completion);

        // Then it is neither well-formed nor correct, and the reason names the line
        Assert.False(outcome.WellFormed);
        Assert.False(outcome.Correct);
        Assert.StartsWith(step + ":", outcome.Reason);
    }

    [Fact]
    public void Countdown_missing_final_answer_is_incorrect_and_malformed()
    {
        // Given valid steps that reach the target but no final line
        // When it is checked
        var outcome = Countdown.Check(Example, "7-3=4\n4*25=100\n");

        // Then there is no answer
        Assert.False(outcome.Correct);
        Assert.False(outcome.WellFormed);
        Assert.Null(outcome.Answer);
        Assert.Equal("no final answer line '#<target>'", outcome.Reason);
    }

    [Fact]
    public void Countdown_final_answer_that_is_not_the_target_is_incorrect_but_well_formed()
    {
        // Given valid steps and a final line stating another number
        // When it is checked
        var outcome = Countdown.Check(Example, "7-3=4\n4*25=100\n#99\n");

        // Then it is well-formed but incorrect
        Assert.False(outcome.Correct);
        Assert.True(outcome.WellFormed);
        Assert.Equal("99", outcome.Answer);
    }

    [Theory]
    [InlineData(true, "7*3=21")]
    [InlineData(true, "3*7=21", "#21")]
    [InlineData(false, "7+3=10")]
    [InlineData(false, "7*3=20")]
    [InlineData(false, "7*3=21", "#20")]
    [InlineData(false, "#21")]
    [InlineData(false, "7*3=21", "#21", "21+0=21")]
    public void Countdown_CheckStep_is_true_only_while_the_target_stays_reachable(bool expected, params string[] steps)
    {
        // Given the problem 3 7 -> 21, solved only by 7×3
        var problem = new Problem("p", "3 7 -> 21\n", "21");

        // When a step prefix is labelled
        bool label = Countdown.CheckStep(problem, steps);

        // Then dead ends, invalid steps and wrong or misplaced final lines are false
        Assert.Equal(expected, label);
    }

    [Fact]
    public void Countdown_CheckStep_accepts_a_step_off_the_gold_path_that_can_still_win()
    {
        // Given the example and a first step the gold solution may not take but which still leads to 100
        // When the prefix is labelled, and a dead end after it
        bool open = Countdown.CheckStep(Example, ["7-3=4"]);
        bool closed = Countdown.CheckStep(Example, ["7-3=4", "4+3=7"]);

        // Then the first is right and the invalid second step is not
        Assert.True(open);
        Assert.False(closed);
    }

    [Fact]
    public void Countdown_rejects_options_that_cannot_make_any_target()
    {
        // Given two numbers in 1..2, which make at most 4, never a target of 10 or more
        // When the task is built
        var error = Assert.Throws<ArgumentException>(() => new CountdownTask(new CountdownOptions(Numbers: 2, Max: 2)));

        // Then the error says so
        Assert.StartsWith("task 'countdown': no target in 10..100", error.Message);
    }

    [Theory]
    [InlineData(1, 25, 100, "option 'numbers' must be in 2..6, got 1")]
    [InlineData(7, 25, 100, "option 'numbers' must be in 2..6, got 7")]
    [InlineData(4, 1, 100, "option 'max' must be in 2..1000000, got 1")]
    [InlineData(4, 25, 9, "option 'target' must be in 10..1000000, got 9")]
    public void Countdown_rejects_options_out_of_range(int numbers, int max, int target, string message)
    {
        // Given invalid options
        // When the task is built
        var error = Assert.Throws<ArgumentException>(() => new CountdownTask(new CountdownOptions(numbers, max, target)));

        // Then the error names the option and the problem
        Assert.Equal("task 'countdown': " + message, error.Message);
    }
}
