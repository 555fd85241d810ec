using System.Security.Cryptography;
using Ponder.Cli;
using Ponder.Policy;
using Ponder.Tests.Policy;

namespace Ponder.Tests.Cli;

public sealed class OutputFolderTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static (int Code, string Error) Run(params string[] args) => CliRun.Run(args);

    private string SavedCheckpoint(string name)
    {
        string dir = Path.Combine(_dir.Path, name);
        var tokenizer = new CharTokenizer();
        using var model = TinyModels.Model(tokenizer.VocabSize, seed: 3);
        Ponder.Policy.Checkpoint.Save(dir, model.Config, model, tokenizer, new CheckpointState { Task = "arith" });
        File.WriteAllText(Path.Combine(dir, "metrics.jsonl"), "{\"step\":1,\"loss\":2.5}\n");
        return dir;
    }

    private static Dictionary<string, string> Hashes(string dir) =>
        Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
            .ToDictionary(f => f, f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));

    [Theory]
    [InlineData("train", "sft", "--task", "arith", "--steps", "1", "--eval-every", "0")]
    [InlineData("train", "sft", "--task", "arith", "--steps", "1", "--init", "OUT")]
    [InlineData("train", "rl", "--policy", "OUT", "--steps", "1")]
    [InlineData("train", "expert-iteration", "--policy", "OUT", "--rounds", "1")]
    [InlineData("train", "dpo", "--policy", "OUT", "--steps", "1")]
    [InlineData("train", "prm", "--policy", "OUT", "--steps", "1")]
    public void A_trainer_refuses_an_out_folder_that_holds_a_checkpoint_and_changes_nothing_in_it(params string[] args)
    {
        // Given a folder holding a checkpoint and its metrics log
        string dir = SavedCheckpoint("saved");
        var before = Hashes(dir);

        // When a trainer is pointed at it without --resume (also as its own --init or --policy)
        var (code, error) = Run([.. args.Select(a => a == "OUT" ? dir : a), "--out", dir]);

        // Then it stops with one line naming the folder, and every file is as it was
        Assert.Equal(2, code);
        Assert.Contains($"--out '{dir}' already holds a checkpoint (ponder.json); pass --resume", error.Split('\n')[0]);
        Assert.Equal(before, Hashes(dir));
    }

    [Fact]
    public void The_demo_and_a_resumed_reward_model_check_their_folder_before_any_work()
    {
        string file = _dir.File("notes.txt");
        File.WriteAllText(file, "keep me");
        string policy = SavedCheckpoint("policy");
        var before = Hashes(policy);

        var demo = Run("demo", "--quick", "--out", file);
        var prm = Run("train", "prm", "--policy", policy, "--out", policy, "--resume", "--steps", "1");

        Assert.Equal((2, true), (demo.Code, demo.Error.Contains($"--out '{file}' is a file, not a folder")));
        Assert.Contains($"checkpoint '{policy}': train sft wrote it, so train prm cannot resume it", prm.Error);
        Assert.Equal(before, Hashes(policy));                    // no label file written into the policy's folder
        Assert.Equal("keep me", File.ReadAllText(file));
    }

    [Fact]
    public void A_second_run_into_a_folder_being_written_is_refused_and_a_log_without_a_checkpoint_is_not_one()
    {
        // Given a folder a run is writing (its lock held), and one a stopped run left with only its log
        string busy = Path.Combine(_dir.Path, "busy"), stopped = Path.Combine(_dir.Path, "stopped");
        Directory.CreateDirectory(busy);
        Directory.CreateDirectory(stopped);
        File.WriteAllText(Path.Combine(stopped, "metrics.jsonl"), "{\"step\":1,\"loss\":2.5}\n");
        using (new FileStream(Path.Combine(busy, ".ponder-run.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
            // When a trainer starts into each
            var (code, error) = Run("train", "sft", "--task", "arith", "--out", busy, "--steps", "1", "--eval-every", "0", "--eval-count", "2",
                "--hidden", "32", "--layers", "1", "--heads", "2", "--kv-heads", "2", "--intermediate", "64");

            // Then the busy one is refused in one line
            Assert.Equal(2, code);
            Assert.Contains($"train: --out '{busy}' is being written by another ponder run", error);
        }
        var again = Run("train", "sft", "--task", "arith", "--out", stopped, "--steps", "1", "--eval-every", "0", "--eval-count", "2",
            "--hidden", "32", "--layers", "1", "--heads", "2", "--kv-heads", "2", "--intermediate", "64");
        Assert.True(again.Code == 0, again.Error);                 // and the stopped one starts again
        Assert.True(File.Exists(Path.Combine(stopped, Ponder.Policy.Checkpoint.StateFile)));
        Assert.False(File.Exists(Path.Combine(stopped, ".ponder-run.lock")));
    }

    [Fact]
    public void A_lock_file_that_cannot_be_made_is_said_so_not_taken_for_another_run()
    {
        // Given a folder where the lock file's name is taken by a folder
        string odd = Path.Combine(_dir.Path, "odd");
        Directory.CreateDirectory(Path.Combine(odd, ".ponder-run.lock"));

        // When a trainer starts into it, Then the error says the lock file cannot be made, not that another run holds it
        var (code, error) = Run("train", "sft", "--task", "arith", "--out", odd, "--steps", "1", "--eval-every", "0", "--eval-count", "2",
            "--hidden", "32", "--layers", "1", "--heads", "2", "--kv-heads", "2", "--intermediate", "64");
        Assert.Equal(2, code);
        Assert.Contains($"train: --out '{odd}': its lock file cannot be created", error);
    }

    [Fact]
    public void A_run_that_fails_removes_the_out_folder_it_created_and_nothing_else()
    {
        // Given a task file with no problems and an out folder that does not exist yet
        string empty = _dir.File("empty.jsonl");
        File.WriteAllText(empty, "");
        string fresh = Path.Combine(_dir.Path, "fresh");

        // When training fails on the task
        var (code, error) = Run("train", "sft", "--task", $"jsonl:path={empty}", "--out", fresh, "--steps", "1");

        // Then the error is reported and no empty folder is left behind
        Assert.NotEqual(0, code);
        Assert.Contains(empty, error);
        Assert.False(Directory.Exists(fresh));
    }

    [Fact]
    public void Export_refuses_to_replace_a_folder_or_a_file_it_did_not_write()
    {
        string checkpoint = SavedCheckpoint("ckpt");
        string other = SavedCheckpoint("other");
        var before = Hashes(_dir.Path);

        var intoFolder = Run("export", "--format", "safetensors", "--checkpoint", checkpoint, "--out", other);
        var intoCheckpoint = Run("export", "--format", "gguf", "--checkpoint", checkpoint, "--out", Path.Combine(checkpoint, "model.safetensors"));
        var overFile = Run("export", "--format", "gguf", "--checkpoint", checkpoint, "--out", Path.Combine(other, "metrics.jsonl"));

        Assert.Equal((2, true), (intoFolder.Code, intoFolder.Error.Contains($"--out '{other}' is not empty")));
        Assert.Equal((2, true), (intoCheckpoint.Code, intoCheckpoint.Error.Contains("is inside the checkpoint folder")));
        Assert.Equal((2, true), (overFile.Code, overFile.Error.Contains("exists and is not a GGUF file")));
        Assert.Equal(before, Hashes(_dir.Path));
    }

    [Fact]
    public void A_gguf_export_may_replace_an_earlier_gguf_export()
    {
        string checkpoint = SavedCheckpoint("ckpt");
        string output = _dir.File("model.gguf");

        var first = Run("export", "--format", "gguf", "--checkpoint", checkpoint, "--out", output);
        var second = Run("export", "--format", "gguf", "--checkpoint", checkpoint, "--out", output, "--dtype", "f16");

        Assert.True(first.Code == 0, first.Error);
        Assert.True(second.Code == 0, second.Error);
    }
}
