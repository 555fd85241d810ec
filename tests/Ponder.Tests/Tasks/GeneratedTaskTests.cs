using Ponder.Tasks;

namespace Ponder.Tests.Tasks;

public sealed class GeneratedTaskTests
{
    public static TheoryData<string> BuiltIn => new() { "arith", "countdown", "arith:steps=8,digits=6", "countdown:numbers=5,max=50,target=300" };

    [Theory]
    [MemberData(nameof(BuiltIn))]
    public void Gold_solutions_pass_Check_and_every_prefix_passes_CheckStep(string spec)
    {
        // Given 200 seeded problems of a built-in task
        var task = TaskRegistry.Create(spec);
        var problems = task.Problems(Split.Train, 200, seed: 7);

        foreach (var problem in problems)
        {
            // When the task checks its own gold solution
            var gold = task.GoldSolution(problem);
            Assert.NotNull(gold);
            var outcome = task.Check(problem, string.Join("\n", gold) + "\n");

            // Then it is correct and well-formed, and every prefix is a correct process
            Assert.True(outcome.Correct, $"{problem.Prompt.TrimEnd()}: {outcome.Reason}");
            Assert.True(outcome.WellFormed);
            Assert.Equal(problem.Answer, outcome.Answer);
            Assert.Null(outcome.Reason);
            Assert.Equal("#" + problem.Answer, gold[^1]);
            for (int k = 0; k <= gold.Count; k++)
            {
                Assert.True(task.CheckStep(problem, gold.Take(k).ToList()), $"{problem.Prompt.TrimEnd()}: prefix {k}");
            }
        }
    }

    [Theory]
    [InlineData("arith")]
    [InlineData("countdown")]
    public void Train_and_test_are_disjoint_and_split_by_a_stable_hash(string spec)
    {
        // Given a task
        var task = TaskRegistry.Create(spec);

        // When 2,000 problems of each split are drawn
        var train = task.Problems(Split.Train, 2000, seed: 1);
        var test = task.Problems(Split.Test, 2000, seed: 1);

        // Then each split has distinct prompts, they share none, and ids are the 64-bit hash in hex
        Assert.Equal(2000, train.Select(p => p.Prompt).Distinct().Count());
        Assert.Equal(2000, test.Select(p => p.Prompt).Distinct().Count());
        Assert.Empty(train.Select(p => p.Prompt).Intersect(test.Select(p => p.Prompt)));
        Assert.All(test, p => Assert.Equal(0UL, Convert.ToUInt64(p.Id, 16) % 10));
        Assert.All(train, p => Assert.NotEqual(0UL, Convert.ToUInt64(p.Id, 16) % 10));
        Assert.All(train, p => Assert.Matches("^[0-9a-f]{16}$", p.Id));
    }

    [Fact]
    public void A_countdown_puzzle_is_on_one_side_whatever_the_order_of_its_numbers()
    {
        // Given a small countdown space, where most puzzles are drawn in several orders
        var task = TaskRegistry.Create("countdown:numbers=3,max=9,target=50");
        static string Puzzle(Problem p) => string.Join(' ', p.Prompt.Split(" -> ")[0].Split(' ').Select(long.Parse).Order()) + " -> " + p.Prompt.Split(" -> ")[1];

        // When 60 test and 600 train problems are drawn
        var test = task.Problems(Split.Test, 60, seed: 0);
        var train = task.Problems(Split.Train, 600, seed: 1);

        // Then no test puzzle is in the train split in another order, none is drawn twice, and orders still vary
        Assert.Empty(test.Select(Puzzle).Intersect(train.Select(Puzzle)));
        Assert.Equal(60, test.Select(Puzzle).Distinct().Count());
        Assert.Equal(600, train.Select(p => p.Id).Distinct().Count());
        Assert.Contains(train, p => p.Prompt != string.Join(' ', p.Prompt.Split(" -> ")[0].Split(' ').Select(long.Parse).Order()) + " -> " + p.Prompt.Split(" -> ")[1]);
    }

    [Fact]
    public void Problem_id_is_fnv1a_64_of_the_prompt()
    {
        // Given the FNV-1a 64 reference value of "a" (a published test vector)
        const string Expected = "af63dc4c8601ec8c";

        // When the split helper hashes it
        string id = StableSplit.Id(StableSplit.Hash("a"));

        // Then the id matches, independent of process and machine
        Assert.Equal(Expected, id);
    }

    [Theory]
    [InlineData("arith")]
    [InlineData("countdown")]
    public void Same_seed_gives_same_problems_and_another_seed_differs(string spec)
    {
        // Given two instances of the same task
        var first = TaskRegistry.Create(spec);
        var second = TaskRegistry.Create(spec);

        // When problems are drawn with the same and with a different seed
        var a = first.Problems(Split.Test, 50, seed: 42);
        var b = second.Problems(Split.Test, 50, seed: 42);
        var c = first.Problems(Split.Test, 50, seed: 43);

        // Then the same seed reproduces them exactly and another seed does not
        Assert.Equal(a, b);
        Assert.NotEqual(a.Select(p => p.Prompt), c.Select(p => p.Prompt));
    }

    [Fact]
    public void Asking_for_more_problems_than_the_space_holds_is_an_argument_error()
    {
        // Given a task with only 9 × 8 = 72 distinct problems
        var task = TaskRegistry.Create("arith:steps=1,digits=1,ops=*");

        // When more train problems are requested than exist
        var error = Assert.Throws<ArgumentException>(() => task.Problems(Split.Train, 100, seed: 0));

        // Then the error says the space is too small
        Assert.Contains("too small", error.Message);
    }
}
