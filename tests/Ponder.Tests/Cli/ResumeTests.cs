using Ponder.Policy;

namespace Ponder.Tests.Cli;

public sealed class ResumeTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static readonly string[] Tiny =
        ["--hidden", "32", "--layers", "1", "--heads", "2", "--kv-heads", "2", "--intermediate", "64", "--eval-every", "0", "--eval-count", "4"];

    private string Trained(string name, params string[] extra)
    {
        string dir = Path.Combine(_dir.Path, name);
        var (code, error) = CliRun.Run(["train", "sft", "--task", "arith", "--out", dir, "--steps", "3", .. Tiny, .. extra]);
        Assert.True(code == 0, error);
        return dir;
    }

    [Fact]
    public void A_resumed_sft_run_keeps_its_batch_rate_and_seed_and_refuses_others()
    {
        // Given a run started with batch 4, rate 0.002 and seed 5
        string dir = Trained("run", "--batch", "4", "--lr", "0.002", "--seed", "5");

        // When it is resumed without those options, Then it continues with the saved ones
        var (code, error) = CliRun.Run("train", "sft", "--task", "arith", "--out", dir, "--steps", "4", "--eval-count", "4", "--resume");
        Assert.True(code == 0, error);
        var state = Checkpoint.ReadState(dir);
        Assert.Equal((4L, 5, "4", "0.002"), (state.Step, state.Seed, state.Extra!["batch_size"], state.Extra["lr"]));

        // And a different batch, or a shape option, is refused before anything changes
        var before = File.ReadAllBytes(Path.Combine(dir, Checkpoint.WeightsFile));
        var batch = CliRun.Run("train", "sft", "--task", "arith", "--out", dir, "--steps", "5", "--batch", "8", "--resume");
        var shape = CliRun.Run("train", "sft", "--task", "arith", "--out", dir, "--steps", "5", "--hidden", "64", "--resume");
        Assert.Equal((2, true), (batch.Code, batch.Error.Contains("--batch 8 differs from the resumed run's 4")));
        Assert.Equal((2, true), (shape.Code, shape.Error.Contains("a resumed run keeps its checkpoint's shape")));
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(dir, Checkpoint.WeightsFile)));
    }

    [Fact]
    public void A_trainer_resumes_only_its_own_runs_with_their_state()
    {
        string sft = Trained("sft");
        string noOptimizer = Trained("bare");
        File.Delete(Path.Combine(noOptimizer, Checkpoint.OptimizerFile));
        string noState = Trained("stateless");
        File.Delete(Path.Combine(noState, Checkpoint.StateFile));

        var rl = CliRun.Run("train", "rl", "--algo", "grpo", "--policy", sft, "--out", sft, "--steps", "1", "--resume");
        var ei = CliRun.Run("train", "expert-iteration", "--policy", sft, "--out", sft, "--resume");
        var bare = CliRun.Run("train", "sft", "--task", "arith", "--out", noOptimizer, "--steps", "4", "--resume");
        var stateless = CliRun.Run("train", "sft", "--task", "arith", "--out", noState, "--steps", "4", "--resume");

        Assert.Contains($"checkpoint '{sft}': train sft wrote it, so train rl cannot resume it", rl.Error);
        Assert.Contains($"checkpoint '{sft}': train sft wrote it, so train expert-iteration cannot resume it", ei.Error);
        Assert.Contains($"checkpoint '{noOptimizer}': no optimizer.safetensors to resume from", bare.Error);
        Assert.Contains($"checkpoint '{noState}': no ponder.json, so there is no run to resume", stateless.Error);
        Assert.All(new[] { rl, ei, bare, stateless }, r => Assert.NotEqual(0, r.Code));
    }
}
