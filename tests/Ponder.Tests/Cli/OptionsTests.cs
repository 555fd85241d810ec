using Ponder.Cli;

namespace Ponder.Tests.Cli;

public sealed class OptionsTests
{
    [Fact]
    public void Unknown_option_is_rejected_naming_it_and_the_known_ones()
    {
        var o = new Options("eval", ["--checkpoint", "c", "--cout", "5"]);
        o.Required("checkpoint");
        o.Int("count", 200);

        var e = Assert.Throws<UsageException>(() => o.Done());
        Assert.Equal("eval: unknown option '--cout' (known: --checkpoint, --count)", e.Message);
    }

    [Fact]
    public void Values_are_parsed_and_range_checked()
    {
        var o = new Options("x", ["--n=7", "--t", "0.5", "--flag", "--bad", "abc"]);

        Assert.Equal(7, o.Int("n", 0));
        Assert.Equal(0.5, o.Double("t", 1));
        Assert.True(o.Flag("flag"));
        var e = Assert.Throws<UsageException>(() => o.Int("bad", 0));
        Assert.Contains("'--bad' expects an integer, got 'abc'", e.Message);
        Assert.Throws<UsageException>(() => new Options("x", ["--n", "0"]).Int("n", 5, min: 1));
    }

    [Fact]
    public void Missing_required_option_and_repeated_option_are_errors()
    {
        Assert.Throws<UsageException>(() => new Options("eval", []).Required("checkpoint"));
        Assert.Throws<UsageException>(() => new Options("eval", ["--a", "1", "--a", "2"]));
    }

    [Fact]
    public void Kv_cache_type_is_parsed_and_a_wrong_one_named()
    {
        Assert.Null(new Options("eval", []).KvCache());
        Assert.Equal(TorchSharp.torch.ScalarType.BFloat16, new Options("eval", ["--kv-cache", "bf16"]).KvCache());
        Assert.Equal(TorchSharp.torch.ScalarType.Float32, new Options("eval", ["--kv-cache", "f32"]).KvCache());
        var e = Assert.Throws<UsageException>(() => new Options("eval", ["--kv-cache", "q8"]).KvCache());
        Assert.Equal("eval: option '--kv-cache' must be one of f32, bf16, got 'q8'", e.Message);
    }

    [Fact]
    public void The_options_of_an_sft_run_given_as_a_command_line_parse_back_to_the_same_run()
    {
        // Given the thinking stage's two runs (equal tokens, from scratch) and a fine-tune from a checkpoint without the C# nodes
        var recipe = Ponder.Thinking.ThinkingRecipe.Demo(3);
        var runs = new[]
        {
            Ponder.Thinking.EqualTokenSft.Options(recipe.TraceTask, "/tmp/trace", recipe, 100_000),
            Ponder.Thinking.EqualTokenSft.Options(recipe.OptimalTask, "/tmp/optimal", recipe, 100_000) with { Lr = 1e-3 / 3 },
            new Ponder.Learning.SftOptions { Task = "arith", Out = "/tmp/ft", Init = "models/arith", TrainingKernels = false, Pack = false, Steps = 7 },
        };

        // Then each command line parses back to the same settings, so a run in a process of its own is the run asked for
        foreach (var run in runs)
        {
            var args = TrainCommand.Args(run);
            var parsed = TrainCommand.Parse(new Options("train sft", args));
            Assert.Equal(run with { Model = parsed.Model }, parsed);
            if (run.Init is null)                                                     // the shape (its records hold arrays: compared as JSON)
                Assert.Equal(System.Text.Json.JsonSerializer.Serialize(run.Model), System.Text.Json.JsonSerializer.Serialize(parsed.Model));
        }
    }
}

public sealed class SideBySideBuildTests
{
    [Fact]
    public void A_side_by_side_child_runs_only_the_build_that_started_it()
    {
        // A process not started side by side, and a child of this very build, run; a child of another build does not
        Ponder.Cli.SideBySide.RequireParentBuild("train sft", null);
        Ponder.Cli.SideBySide.RequireParentBuild("train sft", Ponder.Cli.SideBySide.Build);
        var error = Assert.Throws<InvalidOperationException>(() => Ponder.Cli.SideBySide.RequireParentBuild("train sft", Guid.NewGuid().ToString()));
        Assert.StartsWith("train sft: this build is not the one that started it", error.Message);
    }
}
