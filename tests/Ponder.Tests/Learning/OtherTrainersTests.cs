using Ponder.Learning;
using Ponder.Policy;
using static TorchSharp.torch;

namespace Ponder.Tests.Learning;

public sealed class OtherTrainersTests : IDisposable
{
    readonly TempDirectory dir = new();

    [Fact]
    public void Dpo_on_verifier_pairs_raises_the_rewarded_behaviour()
    {
        string start = ToyBandit.TinyPolicy(dir);
        double before = ToyBandit.DigitFirstProbability(start);
        var o = new DpoOptions
        {
            Policy = start, Out = dir.File("dpo"), Steps = 12, ProblemsPerStep = 8, SamplesPerProblem = 8, Beta = 0.5, Lr = 1e-2,
            EvalEvery = 0, EvalCount = 4, Seed = 2,
        };
        var nodes = (CausalAttentionFunction.Calls, RmsNormFunction.Calls);
        new DpoTrainer(o, CPU, new ToyBandit.StartsWithDigit()).Run();
        double after = ToyBandit.DigitFirstProbability(o.Out);
        Assert.True(after > 2 * before, $"P(digit first) {before:F3} → {after:F3}");
        Assert.True(CausalAttentionFunction.Calls > nodes.Item1 && RmsNormFunction.Calls > nodes.Item2, "DPO's gradient passes ran on the C# training nodes");

        // and its pairs were written as a preference file, each a right and a wrong answer: all it trained on but those
        // whose text cannot show what was sampled (the random policy's special tokens), which are counted
        var written = PreferencePair.ReadFile(Path.Combine(o.Out, DpoTrainer.PairsFileName));
        var (trained, left) = Counts(o.Out);
        Assert.Equal(trained - left, written.Count);
        Assert.InRange(left, 0, trained / 2);
        Assert.All(written, p => Assert.True(char.IsAsciiDigit(p.Chosen[0]) && !(p.Rejected.Length > 0 && char.IsAsciiDigit(p.Rejected[0])), $"{p.Chosen} / {p.Rejected}"));
    }

    [Fact]
    public void Dpo_on_step_pairs_from_mcts_trees_raises_the_rewarded_behaviour()
    {
        // Given the random tiny policy, whose completions (one step each in its short context) start with a digit ~10 % of the time
        string start = ToyBandit.TinyPolicy(dir);
        double before = ToyBandit.DigitFirstProbability(start);
        var o = new DpoOptions
        {
            Policy = start, Out = dir.File("dpo-step"), Steps = 16, ProblemsPerStep = 16, Pairs = DpoPairs.Step, Simulations = 16, Expansions = 4,
            Beta = 0.5, Lr = 1e-2, EvalEvery = 0, EvalCount = 4, Seed = 2,
        };

        // When DPO trains on the sibling steps its MCTS trees value apart (verifier-scored rollouts)
        new DpoTrainer(o, CPU, new ToyBandit.StartsWithDigit()).Run();

        // Then the trees gave pairs, and the policy puts a digit first far more often
        var rows = MetricsLog.Read(Path.Combine(o.Out, "metrics.jsonl")).Where(r => r.ContainsKey("pairs")).ToList();
        Assert.Equal(16, rows.Count);
        Assert.True(rows.Sum(r => r["pairs"]!.GetValue<int>()) >= 16, $"{rows.Sum(r => r["pairs"]!.GetValue<int>())} pairs");
        Assert.All(rows, r => Assert.True(r["policy_tokens"]!.GetValue<long>() > 0));
        var (trained, left) = Counts(o.Out);
        Assert.Equal(trained - left, PreferencePair.ReadFile(Path.Combine(o.Out, DpoTrainer.PairsFileName)).Count);
        Assert.InRange(left, 0, trained / 2);
        double after = ToyBandit.DigitFirstProbability(o.Out);
        Assert.True(after > 2 * before, $"P(digit first) {before:F3} → {after:F3}");
    }

    /// <summary>A preference file for the digit toy: each prompt's chosen completion starts with a digit, its rejected one with a letter.</summary>
    string DigitPreferences(int count) => dir.Write("prefs.jsonl",
        [.. Enumerable.Range(0, count).Select(i => $$"""{"prompt": "{{(char)('a' + i % 26)}}?\n", "chosen": "{{i % 10}}", "rejected": "{{(char)('k' + i % 10)}}"}""")]);

    [Fact]
    public void Dpo_on_a_preference_file_raises_the_preferred_behaviour()
    {
        // Given the random tiny policy and a file of 10 pairs preferring a digit first
        string start = ToyBandit.TinyPolicy(dir);
        double before = ToyBandit.DigitFirstProbability(start);
        var o = new DpoOptions
        {
            Policy = start, Out = dir.File("dpo-file"), Steps = 12, ProblemsPerStep = 8, Pairs = DpoPairs.File, PairsFile = DigitPreferences(10),
            Beta = 0.5, Lr = 1e-2, EvalEvery = 0, EvalCount = 4, Seed = 2,
        };

        // When DPO trains on them offline
        new DpoTrainer(o, CPU, new ToyBandit.StartsWithDigit()).Run();

        // Then every step had its 8 pairs (passes over the file one after another), and a digit first is far more likely
        var rows = MetricsLog.Read(Path.Combine(o.Out, "metrics.jsonl")).Where(r => r.ContainsKey("pairs")).ToList();
        Assert.Equal(12, rows.Count);
        Assert.All(rows, r => Assert.Equal(8, r["pairs"]!.GetValue<int>()));
        double after = ToyBandit.DigitFirstProbability(o.Out);
        Assert.True(after > 2 * before, $"P(digit first) {before:F3} → {after:F3}");
    }

    [Fact]
    public void Rpo_adds_alpha_times_the_chosen_completions_token_nll_to_the_loss()
    {
        // Given a preference file, trained on with RPO's α = 2
        string start = ToyBandit.TinyPolicy(dir);
        var o = new DpoOptions
        {
            Policy = start, Out = dir.File("rpo"), Steps = 3, ProblemsPerStep = 4, Pairs = DpoPairs.File, PairsFile = DigitPreferences(8),
            RpoAlpha = 2, Beta = 0.5, Lr = 1e-2, EvalEvery = 0, EvalCount = 2, Seed = 2,
        };
        new DpoTrainer(o, CPU, new ToyBandit.StartsWithDigit()).Run();

        // Then at the first step (the policy is the reference: DPO's part is ln 2) the loss is ln 2 + 2 · the logged NLL,
        // an NLL about a random policy's ln V a token, and every step logs it
        var rows = MetricsLog.Read(Path.Combine(o.Out, "metrics.jsonl")).Where(r => r.ContainsKey("loss")).ToList();
        double nll = rows[0]["chosen_nll"]!.GetValue<double>();
        Assert.Equal(Math.Log(2) + 2 * nll, rows[0]["loss"]!.GetValue<double>(), 3);
        Assert.InRange(nll, 0.5 * Math.Log(new CharTokenizer().VocabSize), 2 * Math.Log(new CharTokenizer().VocabSize));
        Assert.All(rows, r => Assert.NotNull(r["chosen_nll"]));
    }

    [Fact]
    public void Dpop_lowers_a_margin_by_lambda_times_how_far_the_chosen_side_fell_below_the_reference()
    {
        // Two pairs: chosen log π −1 and −3 against the reference's −2 (one rose, one fell by 1); rejected −2 and −2 as the reference
        var sums = tensor(new[] { -1f, -3f, -2f, -2f });
        var refSums = tensor(new[] { -2f, -2f, -2f, -2f });

        Assert.Equal([1f, -1f], DpoTrainer.Margins(sums, refSums, 2, dpopLambda: 0).data<float>().ToArray());
        Assert.Equal([1f, -11f], DpoTrainer.Margins(sums, refSums, 2, dpopLambda: 10).data<float>().ToArray());
    }

    [Theory]
    [InlineData(DpoLoss.Sigmoid, 0.6931472)]   // −log σ(0)
    [InlineData(DpoLoss.Ipo, 4.0)]             // (0 − 1/(2 · 0.25))²
    [InlineData(DpoLoss.Hinge, 1.0)]           // max(0, 1 − 0)
    public void Each_loss_at_the_first_step_where_the_policy_is_the_reference_is_its_value_at_a_zero_margin(DpoLoss kind, double expected)
    {
        string start = ToyBandit.TinyPolicy(dir);
        var o = new DpoOptions
        {
            Policy = start, Out = dir.File("loss-" + kind), Steps = 2, ProblemsPerStep = 4, Pairs = DpoPairs.File, PairsFile = DigitPreferences(8),
            Loss = kind, Beta = 0.25, Lr = 1e-2, EvalEvery = 0, EvalCount = 2, Seed = 2,
        };
        new DpoTrainer(o, CPU, new ToyBandit.StartsWithDigit()).Run();

        var rows = MetricsLog.Read(Path.Combine(o.Out, "metrics.jsonl")).Where(r => r.ContainsKey("loss")).ToList();
        Assert.InRange(rows[0]["loss"]!.GetValue<double>(), expected - 1e-4, expected + 1e-4);
        Assert.True(rows[1]["margin"]!.GetValue<double>() > 0, "one step on the pairs raised their margin");
    }

    [Fact]
    public void A_bad_preference_file_is_refused_before_training_naming_its_line()
    {
        string start = ToyBandit.TinyPolicy(dir);
        DpoOptions With(string file) => new() { Policy = start, Out = dir.File("bad"), Steps = 1, Pairs = DpoPairs.File, PairsFile = file, EvalCount = 2 };
        string missing = dir.Write("missing.jsonl", """{"prompt": "a?\n", "chosen": "1", "rejected": "x"}""", "", """{"prompt": "b?\n", "chosen": "2"}""");
        string longer = dir.Write("long.jsonl", """{"prompt": "a?\n", "chosen": "1", "rejected": "x"}""", """{"prompt": "b?\n", "chosen": "123456789", "rejected": "x"}""");

        string flag = dir.Write("flag.jsonl", """{"prompt": "a?\n", "chosen": "1", "rejected": "x", "rejected_complete": "no"}""");
        var e = Assert.Throws<InvalidDataException>(() => new DpoTrainer(With(flag), CPU, new ToyBandit.StartsWithDigit()).Run());
        Assert.Equal($"{flag}:1: 'rejected_complete' must be true or false", e.Message);
        e = Assert.Throws<InvalidDataException>(() => new DpoTrainer(With(missing), CPU, new ToyBandit.StartsWithDigit()).Run());
        Assert.Equal($"{missing}:3: missing string field 'rejected'", e.Message);
        e = Assert.Throws<InvalidDataException>(() => new DpoTrainer(With(longer), CPU, new ToyBandit.StartsWithDigit()).Run());
        Assert.Equal($"{longer}:2: the prompt and its longer completion are 14 tokens, more than the model's 10 positions", e.Message);
        string foreign = dir.Write("foreign.jsonl", """{"prompt": "a?\n", "chosen": "1", "rejected": "x"}""", """{"prompt": "b?\n", "chosen": "日", "rejected": "x"}""");
        e = Assert.Throws<InvalidDataException>(() => new DpoTrainer(With(foreign), CPU, new ToyBandit.StartsWithDigit()).Run());
        Assert.StartsWith($"{foreign}:2: its chosen cannot be encoded by this model's tokenizer (", e.Message);
        Assert.False(File.Exists(Path.Combine(dir.File("bad"), "model.safetensors")));
    }

    [Fact]
    public void A_file_pairs_completions_end_in_eos_unless_the_line_marks_them_partial()
    {
        var tokenizer = new CharTokenizer();
        PreferencePair[] file = [new("1+2*3\n", "#9", "1+2=4\n") { RejectedComplete = false }];

        var pair = DpoTrainer.Encode(file, tokenizer, maxPositions: 64).Single();

        Assert.Equal([.. tokenizer.Encode("#9"), tokenizer.Eos], pair.Chosen);
        Assert.Equal(tokenizer.Encode("1+2=4\n"), pair.Rejected);
        Assert.Empty(pair.Context);
    }

    [Theory]
    [InlineData(DpoPairs.Outcome)]
    [InlineData(DpoPairs.File)]
    public void Dpo_stopped_and_resumed_continues_the_same_curve(DpoPairs pairs)
    {
        // Given a DPO run of four steps, and the same run stopped after its second step (a checkpoint saved) and resumed
        string start = ToyBandit.TinyPolicy(dir);
        string? file = pairs == DpoPairs.File ? DigitPreferences(12) : null;
        DpoOptions Run(string name) => new()
        {
            Policy = start, Out = dir.File(name), Steps = 4, ProblemsPerStep = 8, SamplesPerProblem = 8, Beta = 0.5, Lr = 1e-2,
            EvalEvery = 0, EvalCount = 4, Seed = 2, CheckpointEvery = 0, Pairs = pairs, PairsFile = file,
        };
        var straight = Run("straight");
        new DpoTrainer(straight, CPU, new ToyBandit.StartsWithDigit()).Run();
        var split = Run("split");
        using (var cancel = new CancellationTokenSource())
            new DpoTrainer(split, CPU, new ToyBandit.StartsWithDigit()).Run(new CancelAt(2, cancel), cancel.Token);
        Assert.Equal(2, Checkpoint.ReadState(split.Out).Step);

        if (file is not null)                                       // a file changed since the run started is refused, its bytes kept as they were
        {
            var bytes = File.ReadAllBytes(file);
            File.AppendAllText(file, """{"prompt": "z?\n", "chosen": "9", "rejected": "q"}""" + "\n");
            var changed = Assert.Throws<InvalidDataException>(() => new DpoTrainer(split with { Resume = true }, CPU, new ToyBandit.StartsWithDigit()).Run());
            Assert.Contains("the preference file has changed since the run", changed.Message);
            File.WriteAllBytes(file, bytes);
        }
        new DpoTrainer(split with { Resume = true }, CPU, new ToyBandit.StartsWithDigit()).Run();

        // Then the resumed run's steps are the straight run's to the digit, and so are its weights at the end
        static List<string> Curve(string run) => MetricsLog.Read(Path.Combine(run, "metrics.jsonl")).Select(r => r.ToJsonString()).ToList();
        Assert.Equal(Curve(straight.Out), Curve(split.Out));
        Assert.Equal(6, Curve(split.Out).Count);                               // step 0's evaluation, four steps, the last one's
        Assert.Equal(ToyBandit.DigitFirstProbability(straight.Out), ToyBandit.DigitFirstProbability(split.Out));
    }

    [Fact]
    public void Dpo_refuses_to_resume_another_trainers_run_or_its_own_on_other_pairs()
    {
        string start = ToyBandit.TinyPolicy(dir);
        var o = new DpoOptions { Policy = start, Out = dir.File("resumed"), Steps = 1, ProblemsPerStep = 2, EvalEvery = 0, EvalCount = 2 };
        new DpoTrainer(o, CPU, new ToyBandit.StartsWithDigit()).Run();

        var other = Assert.Throws<InvalidDataException>(() => new DpoTrainer(o with { Resume = true, Pairs = DpoPairs.Step }, CPU, new ToyBandit.StartsWithDigit()).Run());
        Assert.Contains("outcome pairs", other.Message);
        var sft = Assert.Throws<InvalidDataException>(() => new DpoTrainer(o with { Out = start, Resume = true }, CPU, new ToyBandit.StartsWithDigit()).Run());
        Assert.Contains("cannot resume", sft.Message);
    }

    [Fact]
    public void Step_pairs_take_the_sampled_tokens_of_the_best_and_worst_visited_steps_past_the_minimum_gap()
    {
        // Given three branches: a deep one with sampled ids (a finished step ending in EOS), one whose best and worst differ
        // by less than the gap, and one without ids whose best sibling was never visited
        var tokenizer = new CharTokenizer();
        int[] Ids(string text, bool eos = false) => [.. tokenizer.Encode(text), .. eos ? new[] { tokenizer.Eos } : []];
        var problem = new Ponder.Tasks.Problem("p", "1+2*3\n", "9");
        Ponder.Search.TreeBranch[] branches =
        [
            new("1+2=3\n", Ids("1+2=3\n"), [new("3*3=9\n", false, 3, 1.0, Ids("3*3=9\n")), new("#9", true, 2, 0.5, Ids("#9", eos: true)), new("#8", true, 1, 0.0, Ids("#8", eos: true))]),
            new("", Ids(""), [new("1+2=3\n", false, 4, 0.75, null), new("1+2=4\n", false, 2, 0.5, null)]),
            new("1+2=4\n", null, [new("4*3=12\n", false, 0, 0.0, null), new("4*3=11\n", false, 1, 0.0, null), new("#12", true, 1, 1.0, null)]),
        ];

        // When the pairs of a minimum gap of 0.5 are read from them
        var pairs = DpoTrainer.BranchPairs(problem, branches, tokenizer, minGap: 0.5).ToList();

        // Then the first branch pairs its best step against its worst (EOS kept, the prefix as context), the second gives
        // none (0.25 apart), and the third pairs its visited steps, encoded from their text
        Assert.Equal(2, pairs.Count);
        static string Of(DpoTrainer.Pair p) => $"{string.Join(",", p.Context)} | {string.Join(",", p.Chosen)} | {string.Join(",", p.Rejected)}";
        string Expected(string context, int[] chosen, int[] rejected) => $"{string.Join(",", Ids(context))} | {string.Join(",", chosen)} | {string.Join(",", rejected)}";
        Assert.Equal(Expected("1+2=3\n", Ids("3*3=9\n"), Ids("#8", eos: true)), Of(pairs[0]));
        Assert.Equal(Expected("1+2=4\n", Ids("#12"), Ids("4*3=11\n")), Of(pairs[1]));
    }

    [Fact]
    public void A_rollout_batch_leaves_a_rows_context_tokens_out_of_the_mask_as_its_prompt()
    {
        var tokenizer = new CharTokenizer();
        var problem = new Ponder.Tasks.Problem("p", "1+2\n", "3");
        int prompt = Prompting.Encode(tokenizer, problem.Prompt).Length;
        using var batch = RolloutBatch.Build(tokenizer, [problem, problem], [tokenizer.Encode("#3\n#4"), tokenizer.Encode("#3\n#4")], ["#3\n#4", "#3\n#4"], CPU, [3, 0]);
        var mask = batch.Mask.data<float>().ToArray();
        int width = (int)batch.Mask.size(1);
        // position j predicts token j + 1: the first row's actions are its last two tokens, the second row's all five
        Assert.Equal(2f, mask[..width].Sum());
        Assert.Equal(1f, mask[prompt - 1 + 3]);
        Assert.Equal(0f, mask[prompt - 1 + 2]);
        Assert.Equal(5f, mask[width..].Sum());
    }

    /// <summary>A DPO run's pairs trained on, and those of them left out of its pairs.jsonl.</summary>
    static (int Trained, int Left) Counts(string run)
    {
        var rows = MetricsLog.Read(Path.Combine(run, "metrics.jsonl"));
        return (rows.Sum(r => r["pairs"]?.GetValue<int>() ?? 0), rows.Sum(r => r["pairs_not_written"]?.GetValue<int>() ?? 0));
    }

    sealed class CancelAt(int step, CancellationTokenSource cancel) : IProgress<TrainProgress>
    {
        public void Report(TrainProgress p)
        {
            if (p.Step >= step && p.Message is null) cancel.Cancel();
        }
    }

    [Fact]
    public void Expert_iteration_learns_from_verified_samples_each_round()
    {
        string start = ToyBandit.TinyPolicy(dir);
        double before = ToyBandit.DigitFirstProbability(start);
        var o = new ExpertIterationOptions
        {
            Policy = start, Out = dir.File("ei"), Rounds = 2, ProblemsPerRound = 16, SamplesPerProblem = 8, KeepPerProblem = 2,
            StepsPerRound = 10, Epochs = null, Restart = ExpertRestart.Continue, Accumulate = false, BatchSize = 16, Lr = 1e-2, EvalCount = 4, Seed = 2,
        };
        var nodes = CausalAttentionFunction.Calls;
        new ExpertIteration(o, CPU, taskOverride: new ToyBandit.StartsWithDigit()).Run();
        Assert.True(CausalAttentionFunction.Calls > nodes, "the fine-tuning steps ran on the C# training nodes");

        double after = ToyBandit.DigitFirstProbability(o.Out);
        Assert.True(after > 2 * before, $"P(digit first) {before:F3} → {after:F3}");
        var rounds = MetricsLog.Read(Path.Combine(o.Out, "metrics.jsonl")).Where(r => r.ContainsKey("kept")).ToList();
        Assert.Equal(2, rounds.Count);
        Assert.True(rounds[1]["sample_accuracy"]!.GetValue<double>() > rounds[0]["sample_accuracy"]!.GetValue<double>());
    }

    public void Dispose() => dir.Dispose();
}
