using Ponder.Rewards;
using Ponder.Tasks;

namespace Ponder.Tests.Rewards;

public sealed class LabelCacheTests : IDisposable
{
    readonly TempDirectory dir = new();

    public void Dispose() => dir.Dispose();

    static readonly LabelRequest Request = new("arith:steps=3,digits=3,ops=+-*", "sha256:aaaa", LabelSource.Mc, 8, 1, 2, 1);

    static LabelSet Labels() => new(
        new LabelHeader(LabelHeader.CurrentFormat, Request.Task, Request.Policy, LabelSource.Mc, 8, 1, 2, 1, 2, new LabelCost(10, 80, 40, 16, 0.5)),
        [
            new LabeledSolution(new Problem("a", "1 +2\n", "3"), ["1+2=3", "#3"], [0.875, 1.0], true),
            new LabeledSolution(new Problem("b", "2 *3\n", "6"), ["2*3=5", "#5"], [0.0, 0.0], false),
        ]);

    string Written()
    {
        string path = dir.File("labels.jsonl");
        LabelCache.Write(path, Labels());
        return path;
    }

    /// <summary>Asserts that loading fails with a message naming the file and <paramref name="problem"/>, without relabelling or touching the file.</summary>
    static void AssertRefused(string path, LabelRequest request, string problem)
    {
        byte[] before = File.ReadAllBytes(path);
        var e = Assert.Throws<InvalidDataException>(() => LabelCache.LoadOrCreate(path, request, () => throw new InvalidOperationException("relabelled")));
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains(problem, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void A_matching_cache_is_reused_with_identical_labels_and_cost()
    {
        string path = Written();
        var (labels, reused) = LabelCache.LoadOrCreate(path, Request, () => throw new InvalidOperationException("relabelled"));
        Assert.True(reused);
        Assert.Equal(Labels().Header, labels.Header);
        Assert.Equal(2, labels.Solutions.Count);
        Assert.Equal(Labels().Solutions[0].Labels, labels.Solutions[0].Labels);
        Assert.Equal(Labels().Solutions[1].Steps, labels.Solutions[1].Steps);
        Assert.Equal(Labels().Solutions[1].Problem, labels.Solutions[1].Problem);
    }

    [Fact]
    public void A_missing_cache_is_made_once_and_written()
    {
        string path = dir.File("sub/labels.jsonl");
        int made = 0;
        LabelCache.LoadOrCreate(path, Request, () => { made++; return Labels(); });
        var (_, reused) = LabelCache.LoadOrCreate(path, Request, () => { made++; return Labels(); });
        Assert.Equal(1, made);
        Assert.True(reused);
    }

    [Fact]
    public void A_cache_from_another_policy_task_or_setting_is_refused()
    {
        string path = Written();
        AssertRefused(path, Request with { Policy = "sha256:bbbb" }, "made by policy sha256:aaaa, not the given policy sha256:bbbb");
        AssertRefused(path, Request with { Task = "countdown" }, "labels are for task 'arith:steps=3,digits=3,ops=+-*', not 'countdown'");
        AssertRefused(path, Request with { K = 4 }, "k=8");
        AssertRefused(path, Request with { Source = LabelSource.Gold }, "Mc labels, not Gold");
        AssertRefused(path, Request with { Temperature = 0.5 }, "labels were sampled at temperature 1 with at most 16 steps; this run asks for temperature 0.5 with at most 16");
        AssertRefused(path, Request with { MaxSteps = 8 }, "this run asks for temperature 1 with at most 8");
        // An ORM asks for no particular k: the PRM's file serves it
        Assert.True(LabelCache.LoadOrCreate(path, Request with { K = null }, () => throw new InvalidOperationException()).Reused);
    }

    [Fact]
    public void The_sampling_temperature_and_step_cap_are_recorded_and_a_file_without_them_reads_as_made_at_the_defaults()
    {
        string path = dir.File("hot.jsonl");
        var labels = Labels();
        LabelCache.Write(path, labels with { Header = labels.Header with { Temperature = 0.7, MaxSteps = 12 } });
        Assert.True(LabelCache.LoadOrCreate(path, Request with { Temperature = 0.7, MaxSteps = 12 }, () => throw new InvalidOperationException()).Reused);
        AssertRefused(path, Request, "labels were sampled at temperature 0.7 with at most 12 steps; this run asks for temperature 1 with at most 16");

        string old = dir.Write("old.jsonl", File.ReadAllLines(Written()).Select((line, i) => i == 0 ? line.Replace(",\"temperature\":null,\"max_steps\":null", "", StringComparison.Ordinal) : line).ToArray());
        Assert.DoesNotContain("temperature", File.ReadAllLines(old)[0], StringComparison.Ordinal);
        Assert.True(LabelCache.LoadOrCreate(old, Request, () => throw new InvalidOperationException()).Reused);
    }

    [Fact]
    public void A_countdown_label_file_from_before_the_puzzle_split_is_refused()
    {
        // Given countdown label files written before and after the split scheme was recorded
        var labels = Labels();
        var header = labels.Header with { Task = "countdown:numbers=3,max=25,target=100" };
        string old = dir.File("old-countdown.jsonl"), path = dir.File("countdown.jsonl");
        LabelCache.Write(old, labels with { Header = header });
        LabelCache.Write(path, labels with { Header = header with { Split = LabelHeader.CurrentSplit } });

        // Then a countdown request refuses it, and the same file with the split recorded serves it
        var request = Request with { Task = "countdown:numbers=3,max=25,target=100" };
        AssertRefused(old, request, "labels were drawn before countdown puzzles were split whatever the order of their numbers");
        Assert.True(LabelCache.LoadOrCreate(path, request, () => throw new InvalidOperationException()).Reused);
        // (an arith file without the field is still read: arith's split did not change)
    }

    [Fact]
    public void A_gold_label_file_has_no_k_and_serves_a_request_for_any()
    {
        string path = dir.File("gold.jsonl");
        var labels = Labels();
        LabelCache.Write(path, labels with { Header = labels.Header with { Source = LabelSource.Gold, K = 0 } });
        Assert.True(LabelCache.LoadOrCreate(path, Request with { Source = LabelSource.Gold, K = null }, () => throw new InvalidOperationException()).Reused);
    }

    [Fact]
    public void An_empty_truncated_or_foreign_file_is_refused()
    {
        string empty = dir.Write("empty.jsonl", "");
        AssertRefused(empty, Request, "empty label file");

        string path = Written();
        var lines = File.ReadAllLines(path);
        string lastLineMissing = dir.Write("short.jsonl", lines[..^1]);
        AssertRefused(lastLineMissing, Request, "truncated: the header promises 2 solutions, the file holds 1");

        string text = File.ReadAllText(path);
        string cut = dir.File("cut.jsonl");
        File.WriteAllText(cut, text[..(text.Length - 20)]);
        AssertRefused(cut, Request, "line 3 is not valid JSON (truncated?)");

        string foreign = dir.Write("metrics.jsonl", "{\"step\": 1, \"loss\": 0.5}");
        AssertRefused(foreign, Request, "not a label file");

        string outOfRange = dir.Write("range.jsonl", [lines[0], lines[1].Replace("[0.875,1]", "[7,1]", StringComparison.Ordinal), lines[2]]);
        AssertRefused(outOfRange, Request, "line 2: label 7 is outside 0..1");
        string uneven = dir.Write("uneven.jsonl", [lines[0], lines[1].Replace("[0.875,1]", "[0.875]", StringComparison.Ordinal), lines[2]]);
        AssertRefused(uneven, Request, "line 2 has 2 steps but 1 labels");
        string negative = dir.Write("negative.jsonl", [lines[0].Replace("\"count\":2", "\"count\":-1", StringComparison.Ordinal), lines[1], lines[2]]);
        AssertRefused(negative, Request, "the header's count -1 is negative");
        string noPrompt = dir.Write("prompt.jsonl", [lines[0], lines[1].Replace("\"prompt\":", "\"question\":", StringComparison.Ordinal), lines[2]]);
        AssertRefused(noPrompt, Request, "line 2 is not a labelled solution");
    }
}
