using Ponder.Cli;

namespace Ponder.Tests.Cli;

public sealed class EntryTests
{
    static (int Code, string Error) Run(params string[] args) => CliRun.Run(args);

    [Fact]
    public void Unknown_verb_is_a_usage_error()
    {
        var (code, error) = Run("frobnicate");
        Assert.Equal(2, code);
        Assert.StartsWith("ponder unknown verb 'frobnicate'", error);
    }

    [Fact]
    public void Help_for_an_unknown_verb_is_a_usage_error()
    {
        var (code, error) = Run("help", "frobnicate");
        Assert.Equal(2, code);
        Assert.StartsWith("ponder help: unknown verb 'frobnicate'", error);
    }

    [Fact]
    public void A_prompt_outside_the_vocabulary_is_one_line_quoting_it_without_a_csharp_parameter_name()
    {
        // Given a JSONL task whose questions hold a character the character-level policy does not know
        using var dir = new TempDirectory();
        string path = dir.Write("q.jsonl", [.. Enumerable.Range(0, 40).Select(i => $$"""{"question": "日 {{i}}", "answer": "#### {{i}}"}""")]);

        // When the shipped-shape policy is evaluated on it
        var (code, error) = Run("eval", "--checkpoint", Path.Combine(RepoRoot(), "models", "arith"), "--task", $"jsonl:path={path}", "--count", "2", "--samples", "0");

        // Then the message quotes the text and names no C# parameter
        Assert.Equal(1, code);
        Assert.Contains("character U+65E5", error);
        Assert.Contains("(in \"日 ", error);
        Assert.DoesNotContain("(Parameter", error);
    }

    [Theory]
    [InlineData("--hidden sets the shape of a model trained from scratch", "train", "sft", "--task", "arith", "--out", "D/x", "--init", "P", "--hidden", "32")]
    [InlineData("--max-draws limits --dynamic-sampling's draws", "train", "rl", "--policy", "P", "--out", "D/x", "--max-draws", "3")]
    [InlineData("--beta must be positive", "train", "dpo", "--policy", "P", "--out", "D/x", "--beta", "0")]
    [InlineData("option '--pairs': unknown value 'tree' (known: outcome, step, file)", "train", "dpo", "--policy", "P", "--out", "D/x", "--pairs", "tree")]
    [InlineData("option '--min-gap' must be in", "train", "dpo", "--policy", "P", "--out", "D/x", "--pairs", "step", "--min-gap", "2")]
    [InlineData("train dpo: --pairs file needs --pairs-file F", "train", "dpo", "--policy", "P", "--out", "D/x", "--pairs", "file")]
    [InlineData("train dpo: --dpop-lambda lowers the margin of --loss sigmoid or hinge, not ipo", "train", "dpo", "--policy", "P", "--out", "D/x", "--loss", "ipo", "--dpop-lambda", "5")]
    [InlineData("train dpo: --simulations sets step pairs' trees; it needs --pairs step", "train", "dpo", "--policy", "P", "--out", "D/x", "--simulations", "8")]
    [InlineData("train dpo: --samples sets outcome pairs' samples a problem; step pairs take none", "train", "dpo", "--policy", "P", "--out", "D/x", "--pairs", "step", "--samples", "4")]
    [InlineData("train dpo: --pairs-file is read only with --pairs file, not step", "train", "dpo", "--policy", "P", "--out", "D/x", "--pairs", "step", "--pairs-file", "D/p.jsonl")]
    [InlineData("--keep 5 exceeds the attempts a problem gets (2", "train", "expert-iteration", "--policy", "P", "--out", "D/x", "--samples", "2", "--keep", "5")]
    [InlineData("--expansions needs --expert mcts", "train", "expert-iteration", "--policy", "P", "--out", "D/x", "--expansions", "3")]
    [InlineData("--expert mcts needs at least 2 simulations a problem", "train", "expert-iteration", "--policy", "P", "--out", "D/x", "--expert", "mcts", "--samples", "1")]
    [InlineData("option '--arms' names no arm", "scale", "--checkpoint", "P", "--arms", ",")]
    [InlineData("option '--arms' names 'beam' twice", "scale", "--checkpoint", "P", "--arms", "beam,greedy,beam")]
    [InlineData("option '--out' needs a value", "train", "sft", "--task", "arith", "--out=")]
    [InlineData("option '--checkpoint' needs a value", "eval", "--checkpoint", "")]
    [InlineData("option '--budgets' sets the grid sweep", "scale", "--checkpoint", "P", "--stage", "quick", "--budgets", "1,2")]
    [InlineData("option '--count' must be in 1..2147483647, got 99999999999999", "eval", "--checkpoint", "P", "--count", "99999999999999")]
    [InlineData("option '--count' must be in 1..100000", "think", "traces", "--count", "999999999")]
    [InlineData("--json 'D' is a folder, not a file", "eval", "--checkpoint", "P", "--json", "D")]
    [InlineData("think traces: --task takes the task traces are written for", "think", "traces", "--task", "think:countdown", "--count", "3")]
    [InlineData("eval-rm: --rm 'P,' has an empty entry", "eval-rm", "--rm", "P,")]
    [InlineData("solve: --selector is not a setting of greedy", "solve", "--checkpoint", "P", "--strategy", "greedy", "--selector", "prm-vote", "347 +128 *3 -219")]
    [InlineData("solve: --puct is not a setting of best-of-n", "solve", "--checkpoint", "P", "--strategy", "best-of-n", "--puct", "2", "347 +128 *3 -219")]
    [InlineData("solve: --reviser is read by the revision strategy only, not by best-of-n", "solve", "--checkpoint", "P", "--strategy", "best-of-n", "--reviser", "P", "347 +128 *3 -219")]
    [InlineData("serve: --compute-plan is read by a compute-optimal effort plan only", "serve", "--checkpoint", "P", "--compute-plan", "D")]
    [InlineData("serve: --reviser is read by a revision (or compute-optimal) effort plan only", "serve", "--checkpoint", "P", "--reviser", "P", "--effort-high", "beam:16")]
    public void An_option_that_would_be_ignored_or_cannot_work_is_a_usage_error_before_any_work(string expected, params string[] args)
    {
        using var dir = new TempDirectory();
        string[] line = [.. args.Select(a => a.Replace("D", dir.Path, StringComparison.Ordinal) is var d && a == "P" ? Path.Combine(RepoRoot(), "models", "arith") : d)];

        var (code, error) = Run(line);

        Assert.Equal(2, code);
        Assert.Contains(expected.Replace("'D'", $"'{dir.Path}'", StringComparison.Ordinal), error);
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "x")));
    }

    [Fact]
    public void A_resumed_dpo_run_keeps_its_tree_settings_and_refuses_others()
    {
        // Given a DPO run of step pairs with its own tree settings, one step of two
        using var dir = new TempDirectory();
        string policy = Path.Combine(RepoRoot(), "models", "arith"), run = dir.File("dpo");
        string[] common = ["train", "dpo", "--policy", policy, "--out", run, "--eval-count", "2", "--eval-every", "0", "--problems", "2"];
        Assert.Equal(0, Run([.. common, "--pairs", "step", "--simulations", "4", "--expansions", "3", "--min-gap", "0.25", "--steps", "1"]).Code);
        Assert.Equal(1, Ponder.Policy.Checkpoint.ReadState(run).Step);

        // When it is resumed without them, and with another number of simulations
        var (code, error) = Run([.. common, "--resume", "--steps", "2"]);
        var (refused, why) = Run([.. common, "--resume", "--steps", "3", "--simulations", "8"]);

        // Then the resumed run took the saved ones, and the other setting is refused before any work
        Assert.Equal(0, code);
        var state = Ponder.Policy.Checkpoint.ReadState(run);
        Assert.Equal(2, state.Step);
        Assert.Equal(("step", "4", "3", "0.25"), (state.Extra!["pairs"], state.Extra["simulations"], state.Extra["expansions"], state.Extra["min_gap"]));
        Assert.Equal(2, refused);
        Assert.Contains("train dpo: --simulations 8 differs from the resumed run's 4", why);
    }

    [Fact]
    public void A_policy_is_not_taken_for_a_reviser()
    {
        string policy = Path.Combine(RepoRoot(), "models", "arith");

        var (code, error) = Run("solve", "--checkpoint", policy, "--strategy", "revision", "--reviser", policy, "--budget", "4", "347 +128 *3 -219");

        Assert.Equal(1, code);
        Assert.Contains($"checkpoint '{policy}': ponder.json kind is 'policy', not a reviser", error);
    }

    [Fact]
    public void Solve_answers_a_question_a_jsonl_file_does_not_hold_without_a_reference()
    {
        // Given a JSON-lines task whose file does not hold the question asked
        using var dir = new TempDirectory();
        string file = dir.Write("q.jsonl", """{"question": "12 +3", "answer": "#### 15"}""", """{"question": "20 +5", "answer": "#### 25"}""");
        string policy = Path.Combine(RepoRoot(), "models", "arith");

        // When it is solved, Then it is answered (no reference to compare with), not refused
        var (code, error) = Run("solve", "--checkpoint", policy, "--task", $"jsonl:path={file}", "--strategy", "greedy", "7 +8");
        Assert.True(code == 0, error);
        (code, error) = Run("solve", "--checkpoint", policy, "--task", $"think:jsonl:path={file},style=optimal", "--strategy", "greedy", "7 +8");
        Assert.True(code == 0, error);
    }

    static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !Directory.Exists(Path.Combine(dir.FullName, "models", "arith"))) dir = dir.Parent;
        return dir?.FullName ?? throw new DirectoryNotFoundException("models/arith not found above the test binaries");
    }

    [Fact]
    public void Wrong_option_fails_before_any_work_with_exit_code_2()
    {
        var (code, error) = Run("eval", "--checkpoint", "x", "--samplez", "4");
        Assert.Equal(2, code);
        Assert.Contains("unknown option '--samplez'", error);
    }

    [Fact]
    public void Missing_checkpoint_is_one_line_naming_it_with_exit_code_1()
    {
        using var dir = new TempDirectory();
        var (code, error) = Run("eval", "--checkpoint", dir.Path);
        Assert.Equal(1, code);
        Assert.Single(error.TrimEnd().Split('\n'));
        Assert.Contains(dir.Path, error);
        Assert.Contains("config.json", error);
    }

    [Fact]
    public void Unknown_task_is_a_clear_error()
    {
        using var dir = new TempDirectory();
        var (code, error) = Run("train", "sft", "--task", "sudoku", "--out", dir.File("out"), "--steps", "1");
        Assert.Equal(1, code);
        Assert.Contains("unknown task 'sudoku'", error);
    }

    [Fact]
    public void Expert_iteration_refuses_both_epochs_and_fixed_steps()
    {
        var (code, error) = Run("train", "expert-iteration", "--policy", "x", "--out", "y", "--epochs", "2", "--steps-per-round", "50");
        Assert.Equal(2, code);
        Assert.Contains("give --epochs or --steps-per-round, not both", error);
    }

    [Fact]
    public void Expert_iteration_restart_names_are_checked()
    {
        var (code, error) = Run("train", "expert-iteration", "--policy", "x", "--out", "y", "--restart", "scratch");
        Assert.Equal(2, code);
        Assert.Contains("unknown value 'scratch'", error);
    }

    [Theory]
    [InlineData("--flip-positions", "4", "--flip-positions and --flip-alternatives need --expert flip")]
    [InlineData("--flip-alternatives", "1", "--flip-positions and --flip-alternatives need --expert flip")]
    [InlineData("--min-lr-fraction", "0.2", "--min-lr-fraction needs --lr-decay linear or cosine")]
    [InlineData("--max-samples", "4", "--max-samples 4 needs --expert sample and more than --samples (4)")]
    public void Expert_iteration_refuses_options_that_would_be_ignored(string option, string value, string message)
    {
        var (code, error) = Run("train", "expert-iteration", "--policy", "x", "--out", "y", option, value);
        Assert.Equal(2, code);
        Assert.Contains(message, error);
    }
}

public sealed class RlCommandTests
{
    [Fact]
    public void Training_runs_the_CSharp_nodes_unless_told_no_training_kernels_in_sft_and_rl()
    {
        Assert.True(TrainCommand.Parse(new Options("train sft", ["--task", "arith", "--out", "o"])).TrainingKernels);
        Assert.False(TrainCommand.Parse(new Options("train sft", ["--task", "arith", "--out", "o", "--no-training-kernels"])).TrainingKernels);
        Assert.True(RlCommand.Parse(new Options("train rl", ["--policy", "p", "--out", "o"])).TrainingKernels);
        Assert.False(RlCommand.Parse(new Options("train rl", ["--policy", "p", "--out", "o", "--no-training-kernels"])).TrainingKernels);
    }

    [Fact]
    public void Clip_high_and_top_entropy_default_to_off_and_are_parsed_when_given()
    {
        var plain = RlCommand.Parse(new Options("train rl", ["--policy", "p", "--out", "o"]));
        var high = RlCommand.Parse(new Options("train rl", ["--policy", "p", "--out", "o", "--clip-high", "0.28"]));
        Assert.Null(plain.ClipEpsHigh);
        Assert.Equal(0.28, high.ClipEpsHigh);
        Assert.Throws<UsageException>(() => RlCommand.Parse(new Options("train rl", ["--policy", "p", "--out", "o", "--clip-high", "-1"])));
        Assert.Equal(1.0, plain.TopEntropy);
        Assert.Equal(0.2, RlCommand.Parse(new Options("train rl", ["--policy", "p", "--out", "o", "--top-entropy", "0.2"])).TopEntropy);
        Assert.Throws<UsageException>(() => RlCommand.Parse(new Options("train rl", ["--policy", "p", "--out", "o", "--top-entropy", "0"])));
    }

    [Fact]
    public void Negative_weight_defaults_to_one_and_must_lie_in_zero_to_one()
    {
        Assert.Equal(1.0, RlCommand.Parse(new Options("train rl", ["--policy", "p", "--out", "o"])).NegativeWeight);
        Assert.Equal(0.25, RlCommand.Parse(new Options("train rl", ["--policy", "p", "--out", "o", "--negative-weight", "0.25"])).NegativeWeight);
        var e = Assert.Throws<UsageException>(() => RlCommand.Parse(new Options("train rl", ["--policy", "p", "--out", "o", "--negative-weight", "1.5"])));
        Assert.Contains("--negative-weight", e.Message);
    }

    [Fact]
    public void Lr_decay_and_warmup_default_to_a_constant_rate_after_10_batches_and_are_parsed_when_given()
    {
        var plain = RlCommand.Parse(new Options("train rl", ["--policy", "p", "--out", "o"]));
        var decaying = RlCommand.Parse(new Options("train rl", ["--policy", "p", "--out", "o", "--lr-decay", "cosine", "--warmup", "3"]));
        Assert.Equal((Ponder.Learning.LrDecay.Constant, 10), (plain.Decay, plain.Warmup));
        Assert.Equal((Ponder.Learning.LrDecay.Cosine, 3), (decaying.Decay, decaying.Warmup));
        var e = Assert.Throws<UsageException>(() => RlCommand.Parse(new Options("train rl", ["--policy", "p", "--out", "o", "--lr-decay", "step"])));
        Assert.Contains("--lr-decay", e.Message);
        Assert.Throws<UsageException>(() => RlCommand.Parse(new Options("train rl", ["--policy", "p", "--out", "o", "--warmup", "-1"])));
    }

    [Fact]
    public void Process_rewards_from_an_orm_are_refused_before_training_with_exit_code_2()
    {
        // Given a policy and an ORM made from it
        using var dir = new TempDirectory();
        string checkpoint = Ponder.Tests.Serving.TinyServedModel.Save(dir);
        var policy = Ponder.Policy.LoadedPolicy.Load(checkpoint, TorchSharp.torch.CPU);
        string orm = dir.File("orm");
        Ponder.Rewards.LoadedRewardModel.Save(orm, Ponder.Rewards.RewardModel.FromPolicy(policy.Model), policy.Tokenizer,
            new Ponder.Policy.CheckpointState { Kind = "orm", Task = "arith" });

        // When RL is asked to use it as a PRM
        var error = new StringWriter();
        int code = Entry.Run(["train", "rl", "--policy", checkpoint, "--out", dir.File("rl"), "--prm", orm, "--steps", "1"], error);

        // Then it is one clear line, and nothing was written
        Assert.Equal(2, code);
        Assert.Contains($"--prm '{orm}' is an ORM", error.ToString());
        Assert.False(Directory.Exists(dir.File("rl")));

        // And step-level search is refused it the same way
        var searchError = new StringWriter();
        int searchCode = Entry.Run(["solve", "--checkpoint", checkpoint, "--strategy", "beam", "--budget", "4", "--prm", orm, "347 +128 *3 -219"], searchError);
        Assert.Equal(2, searchCode);
        Assert.Contains($"'{orm}' is an ORM; step-level search needs a PRM", searchError.ToString());
    }

    [Fact]
    public void Gold_process_rewards_need_a_task_with_a_step_checker()
    {
        // Given a policy and a jsonl task (final answers only: no exact step checker)
        using var dir = new TempDirectory();
        string checkpoint = Ponder.Tests.Serving.TinyServedModel.Save(dir);
        string data = dir.File("problems.jsonl");
        File.WriteAllText(data, "{\"question\": \"1+1?\", \"answer\": \"#### 2\"}\n");

        // When RL is asked for the oracle process reward on it
        var error = new StringWriter();
        int code = Entry.Run(["train", "rl", "--policy", checkpoint, "--out", dir.File("rl"), "--task", $"jsonl:path={data}", "--prm", "gold", "--steps", "1"], error);

        // Then it is refused in one line before training, and nothing was written
        Assert.Equal(2, code);
        Assert.Contains("--prm gold needs a task with an exact step checker", error.ToString());
        Assert.False(Directory.Exists(dir.File("rl")));
    }
}
