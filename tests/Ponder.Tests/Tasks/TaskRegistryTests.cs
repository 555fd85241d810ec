using Ponder.Tasks;

namespace Ponder.Tests.Tasks;

public sealed class TaskRegistryTests
{
    [Fact]
    public void Registry_knows_the_built_in_tasks()
    {
        // Given the registry
        // When its names are listed
        // Then they are the three tasks
        Assert.Equal(["arith", "countdown", "jsonl"], TaskRegistry.Known);
    }

    [Theory]
    [InlineData("arith", "arith:steps=3,digits=3,ops=+-*")]
    [InlineData("arith:ops=*+,steps=5", "arith:steps=5,digits=3,ops=+*")]
    [InlineData(" arith : digits = 2 ", "arith:steps=3,digits=2,ops=+-*")]
    [InlineData("countdown", "countdown:numbers=4,max=25,target=100")]
    [InlineData("countdown:target=500,numbers=5", "countdown:numbers=5,max=25,target=500")]
    public void Registry_name_is_a_canonical_spec_that_rebuilds_the_same_task(string spec, string canonical)
    {
        // Given a task built from a spec
        var task = TaskRegistry.Create(spec);

        // When it is rebuilt from its name
        var rebuilt = TaskRegistry.Create(task.Name);

        // Then the name spells out every option and the rebuilt task makes the same problems
        Assert.Equal(canonical, task.Name);
        Assert.Equal(canonical, rebuilt.Name);
        Assert.Equal(task.Problems(Split.Test, 5, seed: 3), rebuilt.Problems(Split.Test, 5, seed: 3));
    }

    [Fact]
    public void Registry_jsonl_names_round_trip()
    {
        // Given JSONL tasks over one file and over two files
        using var dir = new TempDirectory();
        string data = dir.Write("data.jsonl", """{"question": "q", "answer": "#### 1"}""");
        string other = dir.Write("other.jsonl", """{"question": "r", "answer": "#### 2"}""");

        // When they are built and rebuilt from their names
        var single = TaskRegistry.Create($"jsonl:path={data}");
        var pair = TaskRegistry.Create($"jsonl:train={data},test={other}");

        // Then the names are canonical and stable
        Assert.Equal($"jsonl:path={data}", single.Name);
        Assert.Equal($"jsonl:train={data},test={other}", pair.Name);
        Assert.Equal(pair.Name, TaskRegistry.Create(pair.Name).Name);
        Assert.Equal("2", Assert.Single(pair.Problems(Split.Test, 5, seed: 0)).Answer);
    }

    [Theory]
    [InlineData("foo", "unknown task 'foo' (known: arith, countdown, jsonl)")]
    [InlineData("foo:steps=3", "unknown task 'foo' (known: arith, countdown, jsonl)")]
    [InlineData("", "no task: the checkpoint names none (its ponder.json has no task, or there is no ponder.json); pass --task")]
    [InlineData("arith:stepz=3", "task 'arith': unknown option 'stepz' (known: steps, digits, ops)")]
    [InlineData("countdown:size=3", "task 'countdown': unknown option 'size' (known: numbers, max, target)")]
    [InlineData("jsonl:file=a.jsonl", "task 'jsonl': unknown option 'file' (known: path, train, test)")]
    [InlineData("arith:steps", "task 'arith': option 'steps' is not key=value")]
    [InlineData("arith:steps=", "task 'arith': option 'steps' has an empty value")]
    [InlineData("arith:steps=3,steps=4", "task 'arith': option 'steps' is given twice")]
    [InlineData("arith:steps=three", "task 'arith': option 'steps' must be an integer, got 'three'")]
    [InlineData("arith:steps=9", "task 'arith': option 'steps' must be in 1..8, got 9")]
    [InlineData("countdown:numbers=7", "task 'countdown': option 'numbers' must be in 2..6, got 7")]
    [InlineData("jsonl", "task 'jsonl': give either path=F or both train=F and test=G")]
    [InlineData("jsonl:train=a.jsonl", "task 'jsonl': give either path=F or both train=F and test=G")]
    [InlineData("jsonl:path=a.jsonl,test=b.jsonl", "task 'jsonl': give either path=F or both train=F and test=G")]
    public void Registry_rejects_a_bad_spec_with_a_one_line_message(string spec, string message)
    {
        // Given a bad spec
        // When a task is created from it
        var error = Assert.Throws<ArgumentException>(() => TaskRegistry.Create(spec));

        // Then the message names the thing and the problem
        Assert.Equal(message, error.Message);
    }
}
