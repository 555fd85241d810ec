using System.Text.Json.Nodes;
using Ponder.Learning;
using Ponder.Policy;

namespace Ponder.Tests.Cli;

/// <summary>What a run leaves in its folder, read back: bad files are named with the problem, and nothing saved is lost.</summary>
public sealed class RunFilesTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Trained(string name, params string[] extra) => CliRun.TrainedTiny(_dir.Path, name, 2, extra);

    private static void EditState(string dir, Action<JsonObject> edit)
    {
        string path = Path.Combine(dir, Checkpoint.StateFile);
        var state = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(state);
        File.WriteAllText(path, state.ToJsonString());
    }

    [Fact]
    public void A_metrics_line_that_is_not_a_row_is_named_and_the_log_is_left_as_it_was()
    {
        // Given a log whose second line was cut mid-write, and one whose row has a step that is not an integer
        string cut = _dir.Write("cut.jsonl", """{"step":1,"loss":2.0}""", """{"step":2,"lo""", """{"step":3,"loss":1.0}""");
        string odd = _dir.Write("odd.jsonl", """{"step":1,"loss":2.0}""", """{"step":"x"}""");
        var before = File.ReadAllText(cut);

        // When a resumed run opens it, or a report reads it, Then the error names the file and line, and nothing is trimmed
        var resumed = Assert.Throws<InvalidDataException>(() => new MetricsLog(cut, keepUpToStep: 2));
        var read = Assert.Throws<InvalidDataException>(() => MetricsLog.Read(odd));
        Assert.StartsWith($"{cut}:2: not a metrics row", resumed.Message);
        Assert.StartsWith($"{odd}:2: not a metrics row", read.Message);
        Assert.Equal(before, File.ReadAllText(cut));

        // And a good log keeps its rows up to the step resumed from, then appends
        string good = _dir.Write("good.jsonl", """{"step":1,"loss":2.0}""", """{"step":2,"loss":1.5}""", """{"step":3,"loss":1.0}""");
        using (var log = new MetricsLog(good, keepUpToStep: 2)) log.Write(new JsonObject { ["step"] = 3, ["loss"] = 0.5 });
        Assert.Equal([1L, 2L, 3L], MetricsLog.Read(good).Select(r => r["step"]!.GetValue<long>()));
        Assert.Equal(0.5, MetricsLog.Read(good)[2]["loss"]!.GetValue<double>());
        Assert.False(File.Exists(good + ".tmp"));

        // And a last line cut off mid-write (no newline after it: the run was killed writing it) is left out on resume
        string killed = _dir.File("killed.jsonl");
        File.WriteAllText(killed, "{\"step\":1,\"loss\":2.0}\n{\"step\":2,\"lo");
        using (new MetricsLog(killed, keepUpToStep: 1)) { }
        Assert.Equal([1L], MetricsLog.Read(killed).Select(r => r["step"]!.GetValue<long>()));
    }

    [Fact]
    public void A_resumed_run_with_a_corrupt_state_is_refused_with_one_line_naming_it()
    {
        // Given RL runs whose ponder.json was damaged: the saved command, the step, the task
        string policy = Trained("policy");
        string[] small = ["--prompts", "2", "--group", "2", "--eval-every", "0", "--eval-count", "2"];
        string RlRun(string name)
        {
            string dir = Path.Combine(_dir.Path, name);
            var (code, error) = CliRun.Run(["train", "rl", "--algo", "grpo", "--policy", policy, "--out", dir, "--steps", "1", .. small]);
            Assert.True(code == 0, error);
            return dir;
        }
        string command = RlRun("command"), step = RlRun("step"), task = RlRun("task");
        EditState(command, s => s["extra"]!["command"] = "oops");
        EditState(step, s => s["step"] = 4294967296L);
        EditState(task, s => s["task"] = null);

        // When each is resumed
        var results = new[] { command, step, task }.Select(dir => CliRun.Run("train", "rl", "--algo", "grpo", "--policy", policy, "--out", dir, "--steps", "2", "--resume")).ToList();

        // Then each is a one-line error naming the checkpoint and what is wrong
        Assert.Contains($"checkpoint '{command}': the saved command in ponder.json is not a JSON array of strings", results[0].Error);
        Assert.Contains($"checkpoint '{step}': ponder.json says step 4294967296", results[1].Error);
        Assert.Contains($"checkpoint '{task}': ponder.json names no task", results[2].Error);
        Assert.All(results, r => Assert.Equal(1, r.Code));
        Assert.All(results, r => Assert.DoesNotContain("   at ", r.Error));
    }

    [Fact]
    public void A_folder_whose_files_come_from_two_saves_is_not_resumed()
    {
        // Given a run saved at step 2, and the same run's weights from step 3 copied over it (a save killed between renames)
        string dir = Trained("run", "--checkpoint-every", "1");
        string later = Path.Combine(_dir.Path, "later");
        foreach (string file in Directory.GetFiles(dir)) { Directory.CreateDirectory(later); File.Copy(file, Path.Combine(later, Path.GetFileName(file))); }
        var (code, error) = CliRun.Run("train", "sft", "--task", "arith", "--out", later, "--steps", "3", "--eval-count", "4", "--resume");
        Assert.True(code == 0, error);
        File.Copy(Path.Combine(later, Checkpoint.WeightsFile), Path.Combine(dir, Checkpoint.WeightsFile), overwrite: true);

        // When it is resumed, Then it is refused, naming the two steps
        var resumed = CliRun.Run("train", "sft", "--task", "arith", "--out", dir, "--steps", "4", "--resume");
        Assert.Equal(1, resumed.Code);
        Assert.Contains($"checkpoint '{dir}': model.safetensors was saved at step 3 but ponder.json at step 2", resumed.Error);

        // And a folder of one save resumes (its files carry the step they were saved at)
        Assert.Equal("3", Ponder.Interop.SafetensorsReader.Open(Path.Combine(later, Checkpoint.OptimizerFile)).Metadata[Checkpoint.StepMetadataKey]);
    }

    [Fact]
    public void A_resumed_reward_model_keeps_its_batch_and_refuses_another()
    {
        // Given a PRM started with batch 4 and rate 0.0002
        string policy = Trained("policy");
        string dir = Path.Combine(_dir.Path, "prm");
        string[] small = ["--problems", "4", "--samples", "2", "--k", "2", "--eval-every", "0"];
        var (code, error) = CliRun.Run(["train", "prm", "--policy", policy, "--out", dir, "--steps", "1", "--batch", "4", "--lr", "0.0002", .. small]);
        Assert.True(code == 0, error);

        // When it is resumed with another batch, Then that is refused before anything changes
        var before = File.ReadAllBytes(Path.Combine(dir, Checkpoint.WeightsFile));
        var batch = CliRun.Run("train", "prm", "--policy", policy, "--out", dir, "--steps", "2", "--batch", "8", "--resume");
        Assert.Equal((2, true), (batch.Code, batch.Error.Contains("train prm: --batch 8 differs from the resumed run's 4")));
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(dir, Checkpoint.WeightsFile)));

        // And resumed with only --steps it continues with the saved settings
        (code, error) = CliRun.Run("train", "prm", "--policy", policy, "--out", dir, "--steps", "2", "--resume");
        Assert.True(code == 0, error);
        var state = Checkpoint.ReadState(dir);
        Assert.Equal((2L, "4", "0.0002"), (state.Step, state.Extra!["batch_size"], state.Extra["lr"]));
    }

    [Theory]
    [InlineData("--process-coef", "0.5", "train rl: --process-coef weighs the process reward of --prm; give both or neither")]
    [InlineData("--sft-batch", "8", "train rl: --sft-batch sets the supervised steps of --sft-steps; give --sft-steps too")]
    [InlineData("--sft-pool", "start", "train rl: --sft-pool sets the supervised steps of --sft-steps; give --sft-steps too")]
    [InlineData("--pool-problems", "64", "train rl: --pool-problems sizes the start pool of --sft-pool start or --replay-start; give one of them too")]
    [InlineData("--kl", "Infinity", "train rl: option '--kl' expects a finite number, got 'Infinity'")]
    [InlineData("--entropy", "1e400", "train rl: option '--entropy' expects a finite number, got '1e400'")]
    public void An_rl_option_the_run_would_ignore_or_cannot_use_is_refused(string option, string value, string message)
    {
        string outDir = Path.Combine(_dir.Path, "rl");
        var (code, error) = CliRun.Run("train", "rl", "--policy", Path.Combine(_dir.Path, "none"), "--out", outDir, option, value);
        Assert.Equal(2, code);
        Assert.Contains(message, error);
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public void The_demo_and_the_thinking_stage_keep_an_earlier_run_in_their_folder()
    {
        // Given a folder holding an earlier demo's files
        string dir = Path.Combine(_dir.Path, "demo");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "summary.json"), "{}");

        // When the demo or the thinking stage is pointed at it, Then each is refused and the file is kept
        var demo = CliRun.Run("demo", "--quick", "--out", dir);
        var think = CliRun.Run("think", "stage", "--quick", "--out", dir);
        Assert.Equal((2, true), (demo.Code, demo.Error.Contains($"demo: --out '{dir}' is not empty")));
        Assert.Equal((2, true), (think.Code, think.Error.Contains($"think stage: --out '{dir}' is not empty")));
        Assert.Equal("{}", File.ReadAllText(Path.Combine(dir, "summary.json")));
    }
}
