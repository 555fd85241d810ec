using Ponder.Learning;
using Ponder.Policy;
using static TorchSharp.torch;

namespace Ponder.Tests.Learning;

public sealed class ExpertIterationRestartTests : IDisposable
{
    readonly TempDirectory dir = new();

    /// <summary>An expert that ignores the model: round 1 proposes "1" and "2" for every problem, later rounds "2" and "3".</summary>
    sealed class FixedExpert
    {
        public readonly List<double> Fingerprints = [];
        public IReadOnlyList<IReadOnlyList<string>> Propose(LoadedPolicy policy, IReadOnlyList<Ponder.Tasks.Problem> problems, int seed)
        {
            Fingerprints.Add(Fingerprint(policy.Model));
            string[] answers = Fingerprints.Count == 1 ? ["1", "2"] : ["2", "3"];
            return problems.Select(_ => (IReadOnlyList<string>)answers).ToList();
        }
    }

    static double Fingerprint(Transformer model)
    {
        using var noGrad = no_grad();
        return model.parameters().Sum(p => p.abs().sum().item<float>());
    }

    ExpertIterationOptions Options(string name, ExpertRestart restart, bool accumulate) => new()
    {
        Policy = ToyBandit.TinyPolicy(dir), Out = dir.File(name), Rounds = 2, ProblemsPerRound = 30, SamplesPerProblem = 2, KeepPerProblem = 2,
        StepsPerRound = 4, Epochs = null, BatchSize = 8, Lr = 1e-2, Warmup = 2, EvalCount = 4, Seed = 2, Restart = restart, Accumulate = accumulate,
    };

    static List<System.Text.Json.Nodes.JsonObject> Rounds(string dir) =>
        MetricsLog.Read(Path.Combine(dir, "metrics.jsonl")).Where(r => r.ContainsKey("kept")).ToList();

    [Fact]
    public void Accumulated_solutions_grow_across_rounds_without_duplicates()
    {
        // Given 30 problems a round over 26 distinct prompts ("a?" … "z?"), so prompts repeat within and across rounds
        var o = Options("acc", ExpertRestart.Base, accumulate: true);

        // When two rounds run: round 1 finds {1, 2} for each prompt, round 2 finds {2, 3}
        new ExpertIteration(o, CPU, new FixedExpert().Propose, new ToyBandit.StartsWithDigit()).Run();

        // Then round 1 trains on 26 × 2 distinct pairs and round 2 on those plus 26 new ones ("3"), nothing twice
        var rounds = Rounds(o.Out);
        Assert.Equal([60, 60], rounds.Select(r => r["kept"]!.GetValue<int>()));
        Assert.Equal([52, 26], rounds.Select(r => r["new"]!.GetValue<int>()));
        Assert.Equal([52, 78], rounds.Select(r => r["train_set"]!.GetValue<int>()));
        var saved = VerifiedSolutions.Load(Path.Combine(o.Out, VerifiedSolutions.FileName), beforeRound: 3).Pairs;
        Assert.Equal(78, saved.Count);
        Assert.Equal(78, saved.Distinct().Count());
        Assert.Equal(["1", "2", "3"], saved.Select(p => p.Completion).Distinct().Order());
        Assert.Equal(52, VerifiedSolutions.Load(Path.Combine(o.Out, VerifiedSolutions.FileName), beforeRound: 2).Count);
    }

    [Fact]
    public void A_stop_asked_for_mid_round_ends_the_run_after_that_round_and_resume_continues_as_if_straight()
    {
        // Given two runs of two rounds: one straight, one whose stop is asked for while its first round's expert works
        var straight = Options("straight", ExpertRestart.Continue, accumulate: true);
        new ExpertIteration(straight, CPU, new FixedExpert().Propose, new ToyBandit.StartsWithDigit()).Run();
        var split = Options("split", ExpertRestart.Continue, accumulate: true) with { Policy = straight.Policy };
        using var cancel = new CancellationTokenSource();
        var expert = new FixedExpert();
        IReadOnlyList<IReadOnlyList<string>> Stopping(LoadedPolicy p, IReadOnlyList<Ponder.Tasks.Problem> problems, int seed)
        {
            cancel.Cancel();
            return expert.Propose(p, problems, seed);
        }

        // When it runs, and is resumed
        bool early = new ExpertIteration(split, CPU, Stopping, new ToyBandit.StartsWithDigit()).Run(cancel: cancel.Token);
        var afterStop = (Checkpoint.ReadState(split.Out).Step, Rounds(split.Out).Count);
        new ExpertIteration(split with { Resume = true }, CPU, expert.Propose, new ToyBandit.StartsWithDigit()).Run();

        // Then it stopped early with round 1 saved, and the resumed run ends where the straight one does
        Assert.True(early);
        Assert.Equal((1L, 1), afterStop);
        Assert.Equal(Rounds(straight.Out).Select(r => r.ToJsonString()), Rounds(split.Out).Select(r => r.ToJsonString()));
    }

    [Fact]
    public void Without_accumulation_each_round_trains_on_its_own_solutions()
    {
        var o = Options("round", ExpertRestart.Base, accumulate: false);
        new ExpertIteration(o, CPU, new FixedExpert().Propose, new ToyBandit.StartsWithDigit()).Run();
        Assert.Equal([60, 60], Rounds(o.Out).Select(r => r["train_set"]!.GetValue<int>()));
    }

    [Theory]
    [InlineData(ExpertRestart.Base, true)]
    [InlineData(ExpertRestart.Continue, false)]
    public void Restart_from_base_fine_tunes_the_start_weights_on_the_accumulated_set(ExpertRestart restart, bool expectEqual)
    {
        // Given a two-round run whose expert records the weights it samples with
        var o = Options("restart-" + restart, restart, accumulate: true);
        var expert = new FixedExpert();
        new ExpertIteration(o, CPU, expert.Propose, new ToyBandit.StartsWithDigit()).Run();

        // When the start policy is fine-tuned afresh on the whole accumulated set with round 2's schedule
        var start = LoadedPolicy.Load(o.Policy, CPU);
        var data = VerifiedSolutions.Load(Path.Combine(o.Out, VerifiedSolutions.FileName), beforeRound: 3).Pairs;
        ExpertIteration.FineTune(start.Model, SupervisedStep.Optimizer(start.Model, weightDecay: 0), start.Tokenizer, data,
            ExpertIteration.Steps(o, 2, data.Count), o, round: 2, stepsBefore: 0);

        // Then, with restart from base, round 2's checkpoint is exactly that model (and with continue it is not)
        var saved = LoadedPolicy.Load(o.Out, CPU);
        double diff = saved.Model.parameters().Zip(start.Model.parameters()).Max(p => (p.First - p.Second).abs().max().item<float>());
        Assert.Equal(expectEqual, diff < 1e-6);
        // and round 2's samples come from round 1's model, not the start policy
        Assert.Equal(Fingerprint(LoadedPolicy.Load(o.Policy, CPU).Model), expert.Fingerprints[0], 3);
        Assert.NotEqual(expert.Fingerprints[0], expert.Fingerprints[1], 3);
    }

    [Fact]
    public void Steps_grow_by_the_factor_or_follow_the_set_size()
    {
        var o = new ExpertIterationOptions { Policy = "p", Out = "o", StepsPerRound = 100, StepsGrowth = 1.2, Epochs = null, BatchSize = 64 };
        Assert.Equal([100, 120, 144], new[] { 1, 2, 3 }.Select(r => ExpertIteration.Steps(o, r, 1000)));
        var byEpochs = o with { Epochs = 2 };
        Assert.Equal(32, ExpertIteration.Steps(byEpochs, 1, 1000));    // ceil(2 × 1000 / 64)
        Assert.Equal(63, ExpertIteration.Steps(byEpochs, 3, 2000));
    }

    public void Dispose() => dir.Dispose();

    [Theory]
    [InlineData("{not json")]
    [InlineData("{\"round\": 1, \"prompt\": \"p\"}")]
    public void A_malformed_solutions_line_is_refused_naming_the_file_and_line(string bad)
    {
        string path = dir.File(VerifiedSolutions.FileName);
        File.WriteAllLines(path, ["{\"round\": 1, \"prompt\": \"p\", \"completion\": \"c\"}", bad]);
        var error = Assert.Throws<InvalidDataException>(() => VerifiedSolutions.Load(path, beforeRound: 2));
        Assert.Equal($"{path}:2: expected a JSON object with \"round\", \"prompt\" and \"completion\"", error.Message);
    }

    [Fact]
    public void A_decaying_rate_warms_up_then_falls_towards_its_floor_which_it_would_reach_a_step_after_the_rounds_last()
    {
        // Given a peak of 1e-3, 10 warmup steps and a 100-step round
        var constant = Options("rate", ExpertRestart.Base, accumulate: true) with { Lr = 1e-3, Warmup = 10 };
        var cosine = constant with { Decay = LrDecay.Cosine, MinLrFraction = 0.1 };

        // Then the constant rate warms up to the peak and stays there
        Assert.Equal(1e-4, ExpertIteration.RateAt(constant, 1, 100, 0), 12);
        Assert.Equal(1e-3, ExpertIteration.RateAt(constant, 100, 100, 0), 12);
        // And the cosine one falls from the warmup's rate towards 10 % of the peak, which it would reach at step 101: the
        // round's last step still learns
        static double Cosine(int step) => 0.1 + 0.9 * 0.5 * (1 + Math.Cos(Math.PI * step / 101.0));
        Assert.Equal(1e-4 * Cosine(1), ExpertIteration.RateAt(cosine, 1, 100, 0), 12);
        Assert.Equal(1e-3 * Cosine(50), ExpertIteration.RateAt(cosine, 50, 100, 0), 12);
        Assert.Equal(1e-3 * Cosine(100), ExpertIteration.RateAt(cosine, 100, 100, 0), 12);
        Assert.True(ExpertIteration.RateAt(cosine, 100, 100, 0) > 1e-4);
        // And a later round of a continued run (warmup done) starts again at the peak
        Assert.Equal(1e-3 * Cosine(1), ExpertIteration.RateAt(cosine, 1, 100, 100), 12);
    }
}
