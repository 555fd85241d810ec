using Ponder.Learning;

namespace Ponder.Tests.Learning;

public sealed class GuidedSolutionsTests : IDisposable
{
    readonly TempDirectory dir = new();
    public void Dispose() => dir.Dispose();

    static string P(string id) => $"{id}?\n";

    [Fact]
    public void A_problem_s_same_solution_is_kept_once_in_its_canonical_form()
    {
        string path = dir.File("g.jsonl");
        var pool = new GuidedSolutions(path, enabled: true, resumeStep: null);
        pool.Add(1, [(P("a"), "1+0=1\n#1\ntrailing"), (P("a"), "1+0=1\n#1"), (P("b"), "1+0=1\n#1")]);
        pool.Add(2, [(P("a"), "1+0=1\n#1")]);

        Assert.Equal(2, pool.Count);
        var lines = File.ReadAllLines(path);
        Assert.Equal(2, lines.Length);
        Assert.Contains("\"completion\":\"1\\u002B0=1\\n#1\"", lines[0]);
        Assert.All(pool.Draw(5, seed: 3), e => Assert.Equal("1+0=1\n#1", e.Completion));
    }

    [Fact]
    public void Resume_keeps_the_lines_up_to_the_checkpoint_and_drops_the_later_ones()
    {
        string path = dir.File("g.jsonl");
        var first = new GuidedSolutions(path, enabled: true, resumeStep: null);
        first.Add(1, [(P("a"), "#1")]);
        first.Add(2, [(P("b"), "#1")]);
        first.Add(3, [(P("c"), "#1")]);

        var resumed = new GuidedSolutions(path, enabled: true, resumeStep: 2);

        Assert.Equal(2, resumed.Count);
        Assert.Equal(2, File.ReadAllLines(path).Length);
        resumed.Add(3, [(P("a"), "#1"), (P("d"), "#1")]);   // a's solution is already in the pool
        Assert.Equal(3, resumed.Count);
    }

    [Fact]
    public void A_malformed_line_is_an_error_naming_the_file_and_line()
    {
        string path = dir.File("g.jsonl");
        File.WriteAllLines(path, ["{\"round\":1,\"prompt\":\"a\",\"completion\":\"#1\"}", "{\"round\":1,\"prompt\":\"a\"}"]);
        var e = Assert.Throws<InvalidDataException>(() => new GuidedSolutions(path, enabled: true, resumeStep: 5));
        Assert.Contains($"{path}:2", e.Message);
        Assert.Contains("completion", e.Message);
        Assert.Equal(2, File.ReadAllLines(path).Length);   // nothing lost
    }

    [Fact]
    public void An_empty_pool_draws_nothing_and_a_disabled_one_writes_nothing()
    {
        string path = dir.File("g.jsonl");
        Assert.Empty(new GuidedSolutions(path, enabled: true, resumeStep: null).Draw(4, seed: 1));
        var off = new GuidedSolutions(dir.File("off.jsonl"), enabled: false, resumeStep: null);
        off.Add(1, [(P("a"), "#1")]);
        Assert.Equal(0, off.Count);
        Assert.False(File.Exists(dir.File("off.jsonl")));
    }
}
