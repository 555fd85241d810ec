using Ponder.Policy;

namespace Ponder.Tests.Cli;

public sealed class ResumeTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Trained(string name, params string[] extra) => CliRun.TrainedTiny(_dir.Path, name, 3, extra);

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

    [Fact]
    public void A_resumed_rl_run_keeps_every_setting_it_started_with_its_task_included()
    {
        // Given an RL run started on another task than its policy's, at temperature 0.7 and KL weight 0.05
        string policy = Trained("policy");
        string dir = Path.Combine(_dir.Path, "rl");
        string[] small = ["--prompts", "2", "--group", "2", "--eval-every", "0", "--eval-count", "2", "--checkpoint-every", "1"];
        var (code, error) = CliRun.Run(["train", "rl", "--algo", "grpo", "--policy", policy, "--out", dir, "--task", "arith:steps=2",
            "--temperature", "0.7", "--kl", "0.05", "--steps", "1", "--device", "cpu", "--max-minutes", "30", .. small]);
        Assert.True(code == 0, error);

        // When it is resumed with only --steps (and the default rate written out: the same setting)
        (code, error) = CliRun.Run("train", "rl", "--algo", "grpo", "--policy", policy, "--out", dir, "--steps", "2", "--lr", "0.00003", "--resume");

        // Then it continued on its own task with its own settings
        Assert.True(code == 0, error);
        var state = Checkpoint.ReadState(dir);
        Assert.Equal(2L, state.Step);
        Assert.Equal(Ponder.Tasks.TaskRegistry.Create("arith:steps=2").Name, state.Task);
        Assert.Contains("--temperature=0.7", state.Extra!["command"]);
        Assert.Contains("--steps=2", state.Extra["command"]);
        Assert.DoesNotContain("--device", state.Extra["command"]);                 // a session's options are not carried over
        Assert.DoesNotContain("--max-minutes", state.Extra["command"]);

        // And another value of a saved setting, or one it started without, is refused before anything changes
        var before = File.ReadAllBytes(Path.Combine(dir, Checkpoint.WeightsFile));
        var kl = CliRun.Run("train", "rl", "--algo", "grpo", "--policy", policy, "--out", dir, "--steps", "3", "--kl", "0.1", "--resume");
        var entropy = CliRun.Run("train", "rl", "--algo", "grpo", "--policy", policy, "--out", dir, "--steps", "3", "--entropy", "0.01", "--resume");
        Assert.Equal((2, true), (kl.Code, kl.Error.Contains("train rl: --kl 0.1 differs from the resumed run's 0.05; a resumed run continues as it started")));
        Assert.Equal((2, true), (entropy.Code, entropy.Error.Contains("train rl: --entropy 0.01 was not given when the resumed run started")));
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(dir, Checkpoint.WeightsFile)));
    }

    [Fact]
    public void A_resumed_expert_iteration_run_keeps_its_seed_problems_and_base()
    {
        // Given one round of expert iteration (gold solutions as the expert) with seed 3 and 8 problems a round
        string policy = Trained("policy");
        string dir = Path.Combine(_dir.Path, "ei");
        var (code, error) = CliRun.Run("train", "expert-iteration", "--policy", policy, "--out", dir, "--task", "arith", "--expert", "gold",
            "--rounds", "1", "--problems", "8", "--steps-per-round", "1", "--batch", "4", "--eval-count", "2", "--seed", "3");
        Assert.True(code == 0, error);

        // When it is resumed for a second round naming only --rounds
        (code, error) = CliRun.Run("train", "expert-iteration", "--policy", policy, "--out", dir, "--rounds", "2", "--resume");

        // Then the second round ran with the saved seed and problems
        Assert.True(code == 0, error);
        var state = Checkpoint.ReadState(dir);
        Assert.Equal((2L, 3), (state.Step, state.Seed));
        var rounds = Ponder.Learning.MetricsLog.Read(Path.Combine(dir, "metrics.jsonl")).Where(r => r.ContainsKey("kept")).ToList();
        Assert.Equal(2, rounds.Count);
        Assert.Equal(1, rounds[1]["steps"]!.GetValue<int>());

        // And another seed, or another base policy, is refused
        var seed = CliRun.Run("train", "expert-iteration", "--policy", policy, "--out", dir, "--rounds", "3", "--seed", "4", "--resume");
        var other = CliRun.Run("train", "expert-iteration", "--policy", dir, "--out", dir, "--rounds", "3", "--resume");
        Assert.Equal((2, true), (seed.Code, seed.Error.Contains("--seed 4 differs from the resumed run's 3")));
        Assert.Equal((2, true), (other.Code, other.Error.Contains($"--policy {dir} differs from the resumed run's {policy}")));
    }

    [Fact]
    public void Steps_growth_without_steps_per_round_is_refused()
    {
        var (code, error) = CliRun.Run("train", "expert-iteration", "--policy", "p", "--out", Path.Combine(_dir.Path, "x"), "--steps-growth", "1.2");
        Assert.Equal(2, code);
        Assert.Contains("--steps-growth grows --steps-per-round from round to round; it needs --steps-per-round", error);
    }
}
