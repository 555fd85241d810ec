using Ponder.Tasks;

namespace Ponder.Tests.Tasks;

public sealed class JsonlTaskTests : IDisposable
{
    private const string Natalia =
        """{"question": "Natalia sold clips to 48 friends in April, and half as many in May. How many in all?", "answer": "In May she sold 48/2 = <<48/2=24>>24 clips.\nIn all she sold 48+24 = <<48+24=72>>72 clips.\n#### 72"}""";

    private const string Thousand = """{"question": "What is ten times a hundred?", "answer": "1,000"}""";

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private JsonlTask NataliaTask() => JsonlTask.FromFiles(_dir.Write("train.jsonl", Thousand), _dir.Write("test.jsonl", Natalia));

    [Fact]
    public void Labels_name_a_jsonl_task_by_its_files_content_so_an_edited_file_is_not_the_same_task()
    {
        // Given a jsonl task, the same files read again, and the test file edited in place (the same paths)
        var first = NataliaTask();
        var again = NataliaTask();
        string test = _dir.Write("test.jsonl", Natalia.Replace("#### 72", "#### 73", StringComparison.Ordinal));
        var edited = JsonlTask.FromFiles(_dir.File("train.jsonl"), test);

        // Then the task's name is the same, but what labels name it by differs with the content only
        Assert.Equal(first.Name, edited.Name);
        Assert.Equal(Ponder.Rewards.LabelTask.Of(first), Ponder.Rewards.LabelTask.Of(again));
        Assert.NotEqual(Ponder.Rewards.LabelTask.Of(first), Ponder.Rewards.LabelTask.Of(edited));
        Assert.StartsWith(first.Name + " sha256:", Ponder.Rewards.LabelTask.Of(first));
        Assert.Equal("arith:steps=3,digits=3,ops=+-*", Ponder.Rewards.LabelTask.Of(TaskRegistry.Create("arith")));
    }

    [Fact]
    public void Jsonl_reads_gsm8k_questions_answers_and_reasoning()
    {
        // Given a GSM8K-style test file
        var task = NataliaTask();

        // When its problem is read
        var problem = Assert.Single(task.Problems(Split.Test, 10, seed: 0));

        // Then the prompt is the question and a newline, the answer follows ####, and the reasoning is the gold solution
        Assert.Equal("Natalia sold clips to 48 friends in April, and half as many in May. How many in all?\n", problem.Prompt);
        Assert.Equal("72", problem.Answer);
        Assert.Equal(
            ["In May she sold 48/2 = <<48/2=24>>24 clips.", "In all she sold 48+24 = <<48+24=72>>72 clips.", "#### 72"],
            task.GoldSolution(problem));
        Assert.True(task.Check(problem, string.Join("\n", task.GoldSolution(problem)!)).Correct);
    }

    [Fact]
    public void Jsonl_answer_without_hashes_is_the_whole_normalized_answer_and_has_no_gold_solution()
    {
        // Given an answer with no #### and no reasoning
        var task = NataliaTask();

        // When its problem is read
        var problem = Assert.Single(task.Problems(Split.Train, 10, seed: 0));

        // Then the answer is the whole text, normalized, and there is nothing to imitate
        Assert.Equal("1000", problem.Answer);
        Assert.Null(task.GoldSolution(problem));
    }

    [Theory]
    [InlineData("She sold 72 clips.\n#### 72", true, "72")]
    [InlineData("#### 72.0", true, "72")]
    [InlineData("#### $72.", true, "72")]
    [InlineData("#### 72 clips", true, "72")]
    [InlineData("#### $72 in all", true, "72")]
    [InlineData("#### 72/1", false, "72/1")]
    [InlineData("#### Step 3: the total\nso the answer is \\boxed{72}", true, "72")]
    [InlineData("\\boxed{72\\%}", true, "72")]
    [InlineData("\\boxed{\\$72.00}", true, "72")]
    [InlineData("#### 71\nwait, no\n#### 72", true, "72")]
    [InlineData("#### 73", false, "73")]
    [InlineData("The answer is \\boxed{72}.", true, "72")]
    [InlineData("\\boxed{70} then \\boxed{ 72 }", true, "72")]
    [InlineData("\\boxed{71}\n#### 72", true, "72")]
    [InlineData("So:\n# 72\nthat's it", true, "72")]
    [InlineData("\\boxed{72}\n#### Verification\nok", true, "72")]
    [InlineData("#### 72 or 73", false, "72or73")]
    [InlineData("#### 2 x 36 = 72", false, "2x36=72")]
    [InlineData("the answer is $72$\n#### $72$", true, "72")]
    [InlineData("\\boxed{72\\text{ clips}}", true, "72")]
    [InlineData("#### \u221272", false, "-72")]
    public void Jsonl_reads_the_final_answer_and_compares_it_numerically(string completion, bool correct, string answer)
    {
        // Given the Natalia problem, reference 72
        var task = NataliaTask();
        var problem = task.Problems(Split.Test, 1, seed: 0)[0];

        // When a completion is checked
        var outcome = task.Check(problem, completion);

        // Then the answer is read as the later of #### and \boxed{}, else a # line, and compared as a number; a number
        // answer is written without trailing zeros, so that equal answers vote together
        Assert.Equal(correct, outcome.Correct);
        Assert.Equal(answer, outcome.Answer);
        Assert.True(outcome.WellFormed);
    }

    [Theory]
    [InlineData("#### 1000", true)]
    [InlineData("#### 1,000", true)]
    [InlineData("#### 1 000.00", true)]
    [InlineData("\\boxed{1000.5}", false)]
    public void Jsonl_compares_thousands_separators_and_decimals_by_value(string completion, bool correct)
    {
        // Given the reference 1,000
        var task = NataliaTask();
        var problem = task.Problems(Split.Train, 1, seed: 0)[0];

        // When a completion is checked
        var outcome = task.Check(problem, completion);

        // Then equal values match whatever their spelling
        Assert.Equal(correct, outcome.Correct);
    }

    [Fact]
    public void Jsonl_non_numeric_answers_compare_as_normalized_strings()
    {
        // Given a reference answer that is not a number
        var task = JsonlTask.FromFiles(
            _dir.Write("a.jsonl", """{"question": "q1", "answer": "x"}"""),
            _dir.Write("b.jsonl", """{"question": "Half?", "answer": "so\n#### \\frac{1}{2}"}"""));
        var problem = task.Problems(Split.Test, 1, seed: 0)[0];

        // When completions with nested braces are checked
        var right = task.Check(problem, "it is \\boxed{\\frac{1}{2}}");
        var wrong = task.Check(problem, "it is \\boxed{\\frac{1}{3}}");

        // Then the whole braced expression is the answer and is compared as text
        Assert.True(right.Correct);
        Assert.False(wrong.Correct);
        Assert.Equal("\\frac{1}{3}", wrong.Answer);
    }

    [Theory]
    [InlineData("The answer is 72.")]
    [InlineData("\\boxed{72")]
    [InlineData("####   \n")]
    public void Jsonl_completion_without_a_final_answer_is_not_well_formed(string completion)
    {
        // Given a completion that never states a final answer in a known format
        var task = NataliaTask();
        var problem = task.Problems(Split.Test, 1, seed: 0)[0];

        // When it is checked
        var outcome = task.Check(problem, completion);

        // Then there is no answer
        Assert.False(outcome.Correct);
        Assert.False(outcome.WellFormed);
        Assert.Null(outcome.Answer);
        Assert.NotNull(outcome.Reason);
    }

    [Theory]
    [InlineData("not json", "not valid JSON")]
    [InlineData("[1, 2]", "not a JSON object")]
    [InlineData("""{"question": "q"}""", "missing field 'answer'")]
    [InlineData("""{"question": 5, "answer": "5"}""", "field 'question' must be a string, not number")]
    [InlineData("""{"question": "q", "answer": [5]}""", "field 'answer' must be a string or a number, not array")]
    [InlineData("""{"question": "q", "answer": "#### "}""", "the answer has no final answer after its last '####'")]
    [InlineData("""{"question": "q", "answer": ""}""", "the answer has no final answer")]
    [InlineData("""{"question": "q", "answer": "She had 3.\nThen 5 more, so 8."}""", "the answer has several lines but no '#### x' final answer")]
    public void Jsonl_malformed_line_error_names_the_file_and_line(string badLine, string problem)
    {
        // Given a file whose third line is bad
        string path = _dir.Write("data.jsonl", Natalia, Thousand, badLine);

        // When the task loads it
        var error = Assert.Throws<InvalidDataException>(() => JsonlTask.FromFile(path));

        // Then the one-line message names file, line and problem
        Assert.StartsWith($"{path}:3: {problem}", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void Asking_problems_of_an_empty_split_names_the_task_and_the_split_sizes()
    {
        // Given a file too small for the hash split to hold any question out
        var task = JsonlTask.FromFile(_dir.Write("small.jsonl", Natalia));

        // When problems are asked of each split, Then the empty one says so, with both sizes
        var errors = new[] { Split.Train, Split.Test }.Select(s => Record.Exception(() => task.Problems(s, 5, seed: 0))).ToList();
        var error = Assert.IsType<InvalidOperationException>(Assert.Single(errors, e => e is not null));
        string emptied = errors[0] is null ? "test" : "train";
        Assert.StartsWith($"task '{task.Name}': its {emptied} split is empty ({(emptied == "test" ? "1 train, 0 test" : "0 train, 1 test")} problems;", error.Message);
        Assert.Empty(task.Problems(Split.Test, 0, seed: 0));
    }

    [Fact]
    public void An_empty_file_is_refused_when_read_and_a_bare_number_answer_is_read()
    {
        string empty = _dir.Write("empty.jsonl", "");
        Assert.Equal($"{empty}: no questions (the file has no non-blank line)", Assert.Throws<InvalidDataException>(() => JsonlTask.FromFile(empty)).Message);

        var task = JsonlTask.FromFiles(_dir.Write("tr.jsonl", Natalia), _dir.Write("te.jsonl", """{"question": "How many?", "answer": 72}"""));
        var problem = task.Problems(Split.Test, 1, seed: 0)[0];
        Assert.Equal("72", problem.Answer);
        Assert.True(task.Check(problem, "#### 72").Correct);
    }

    [Fact]
    public void Jsonl_missing_file_is_invalid_data_naming_the_file()
    {
        // Given a path with no file
        string path = Path.Combine(_dir.Path, "absent.jsonl");

        // When the task loads it
        var error = Assert.Throws<InvalidDataException>(() => JsonlTask.FromFile(path));

        // Then the message names it
        Assert.Equal($"{path}: file not found", error.Message);
    }

    [Fact]
    public void Jsonl_single_file_splits_by_question_hash_into_disjoint_sides()
    {
        // Given one file with 200 distinct questions (and a blank line, which is skipped)
        var lines = Enumerable.Range(0, 200).Select(i => $$"""{"question": "What is {{i}} + 1?", "answer": "#### {{i + 1}}"}""").ToList();
        lines.Insert(50, "");
        var task = JsonlTask.FromFile(_dir.Write("all.jsonl", [.. lines]));

        // When both splits are read in full
        var train = task.Problems(Split.Train, 1000, seed: 0);
        var test = task.Problems(Split.Test, 1000, seed: 0);

        // Then every question is on exactly one side, about 10% test, each test id hashing to 0 mod 10
        Assert.Equal(200, train.Count + test.Count);
        Assert.Empty(train.Select(p => p.Prompt).Intersect(test.Select(p => p.Prompt)));
        Assert.InRange(test.Count, 5, 40);
        Assert.All(test, p => Assert.Equal(0UL, Convert.ToUInt64(p.Id, 16) % 10));
    }

    [Fact]
    public void Jsonl_problems_are_a_seeded_shuffle_of_the_split()
    {
        // Given a file with many questions
        var lines = Enumerable.Range(0, 100).Select(i => $$"""{"question": "q{{i}}", "answer": "{{i}}"}""").ToArray();
        var task = JsonlTask.FromFile(_dir.Write("many.jsonl", lines));

        // When problems are drawn with seeds
        var a = task.Problems(Split.Train, 20, seed: 1);
        var b = task.Problems(Split.Train, 20, seed: 1);
        var c = task.Problems(Split.Train, 20, seed: 2);

        // Then a seed fixes the selection and order, another seed changes it
        Assert.Equal(20, a.Count);
        Assert.Equal(a, b);
        Assert.NotEqual(a.Select(p => p.Prompt), c.Select(p => p.Prompt));
    }

    [Fact]
    public void Jsonl_question_in_both_explicit_files_is_a_test_problem_only()
    {
        // Given the same question in the train and the test file
        var task = JsonlTask.FromFiles(_dir.Write("train.jsonl", Natalia, Thousand), _dir.Write("test.jsonl", Natalia));

        // When both splits are read
        var train = task.Problems(Split.Train, 10, seed: 0);
        var test = task.Problems(Split.Test, 10, seed: 0);

        // Then the splits stay disjoint
        Assert.Equal("1000", Assert.Single(train).Answer);
        Assert.Equal("72", Assert.Single(test).Answer);
    }

    [Fact]
    public void Jsonl_has_no_step_checker()
    {
        // Given a JSONL task
        var task = NataliaTask();
        var problem = task.Problems(Split.Test, 1, seed: 0)[0];

        // When a step check is asked for
        // Then it is refused
        Assert.False(task.HasStepChecker);
        Assert.Throws<NotSupportedException>(() => task.CheckStep(problem, ["In May she sold 24."]));
    }
}
