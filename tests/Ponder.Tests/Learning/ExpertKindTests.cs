using Ponder.Learning;
using Ponder.Policy;
using Ponder.Tasks;
using static TorchSharp.torch;

namespace Ponder.Tests.Learning;

public sealed class ExpertKindTests : IDisposable
{
    readonly TempDirectory dir = new();

    /// <summary>The toy digit task with a gold solution: "7".</summary>
    sealed class SevenIsGold : ITask
    {
        readonly ToyBandit.StartsWithDigit toy = new();
        public string Name => toy.Name;
        public bool HasStepChecker => false;
        public IReadOnlyList<Problem> Problems(Split split, int count, int seed) => toy.Problems(split, count, seed);
        public Outcome Check(Problem problem, string completion) => toy.Check(problem, completion);
        public IReadOnlyList<string>? GoldSolution(Problem problem) => ["7"];
        public bool CheckStep(Problem problem, IReadOnlyList<string> steps) => throw new NotSupportedException();
    }

    static Transformer RandomModel(ITokenizer tokenizer, int seed)
    {
        manual_seed(seed);
        var model = new Transformer(ToyBandit.TinyConfig(tokenizer, maxPositions: 64));
        model.eval();
        return model;
    }

    ExpertIterationOptions Options(string name, ExpertKind expert) => new()
    {
        Policy = ToyBandit.TinyPolicy(dir), Out = dir.File(name), Rounds = 1, ProblemsPerRound = 12, SamplesPerProblem = 2,
        StepsPerRound = 2, Epochs = null, BatchSize = 4, Lr = 1e-3, Warmup = 1, EvalCount = 4, Seed = 2, Expert = expert,
    };

    [Fact]
    public void Flips_branch_at_the_least_certain_tokens_with_the_next_best_choices()
    {
        // Given a random policy's greedy completions of three prompts
        var tokenizer = new CharTokenizer();
        using var model = RandomModel(tokenizer, 5);
        var problems = new ToyBandit.StartsWithDigit().Problems(Split.Test, 3, 1);
        var prompts = problems.Select(p => Prompting.Encode(tokenizer, p.Prompt)).ToList();
        var completions = new Ponder.Policy.Generator(model, tokenizer).Generate(prompts, new SamplingOptions { Temperature = 0, MaxNewTokens = 6 })
            .Select(g => g.Tokens).ToArray();

        // When the two least certain tokens of each get their two next-best alternatives
        var (owners, prefixes) = UncertainFlips.FlippedPrefixes(model, tokenizer, problems, completions, positions: 2, alternatives: 2);

        // Then each prefix is the completion up to one of its two smallest-margin positions, then the 2nd or 3rd choice there,
        // computed here from each row's own unpadded forward pass
        var expected = new List<(int, string)>();
        using (no_grad())
            for (int i = 0; i < problems.Count; i++)
            {
                int[] row = [.. prompts[i], .. completions[i]];
                var probs = model.call(tensor(row.Select(t => (long)t).ToArray()).unsqueeze(0))[0].softmax(-1);   // (L, V)
                var choices = Enumerable.Range(0, completions[i].Length).Select(j =>
                {
                    var (top, index) = probs[prompts[i].Length - 1 + j].topk(3);
                    var p = top.data<float>().ToArray();
                    return (J: j, Margin: p[0] - p[1], Alternatives: index.data<long>().Skip(1).Select(t => (int)t).ToArray());
                }).OrderBy(c => c.Margin).Take(2);
                foreach (var c in choices)
                    foreach (var t in c.Alternatives.Where(t => t != tokenizer.Eos && t != tokenizer.Pad && t != tokenizer.Bos))
                        expected.Add((i, string.Join(",", [.. completions[i][..c.J], t])));
            }
        Assert.Equal(expected, owners.Zip(prefixes, (o, p) => (o, string.Join(",", p))));
        Assert.True(expected.Count >= 6, $"only {expected.Count} flips");
    }

    [Fact]
    public void The_flip_expert_searches_only_where_the_verifier_rejects_the_greedy_answer()
    {
        var tokenizer = new CharTokenizer();
        using var model = RandomModel(tokenizer, 5);
        var problems = new ToyBandit.StartsWithDigit().Problems(Split.Test, 3, 1);
        string greedy = new Ponder.Policy.Generator(model, tokenizer)
            .Generate([Prompting.Encode(tokenizer, problems[0].Prompt)], new SamplingOptions { Temperature = 0, MaxNewTokens = 6 })[0].Text;

        // When every greedy answer is accepted: one candidate each, the greedy one
        var accepted = UncertainFlips.Propose(model, tokenizer, problems, (_, _) => true, positions: 2, alternatives: 2, maxNewTokens: 6);
        Assert.All(accepted, a => Assert.Single(a));
        Assert.Equal(greedy, accepted[0][0]);

        // When none is: the greedy answer first, then flipped continuations, each different from it and no longer than the budget
        var rejected = UncertainFlips.Propose(model, tokenizer, problems, (_, _) => false, positions: 2, alternatives: 2, maxNewTokens: 6);
        Assert.Equal(greedy, rejected[0][0]);
        Assert.All(rejected, a => Assert.InRange(a.Count, 2, 5));
        Assert.All(rejected, a => Assert.DoesNotContain(a[0], a.Skip(1)));
        Assert.All(rejected.SelectMany(a => a), c => Assert.InRange(tokenizer.Encode(c).Length, 1, 6));
    }

    [Fact]
    public void The_mcts_expert_keeps_the_verified_solutions_its_trees_find()
    {
        // Given the random tiny policy (a digit first ~10 % of the time) and trees of 16 simulations, 4 steps an expansion
        var o = Options("mcts", ExpertKind.Mcts) with { SamplesPerProblem = 16, Expansions = 4 };

        // When a round of expert iteration distills what the trees found
        new ExpertIteration(o, CPU, taskOverride: new ToyBandit.StartsWithDigit()).Run();

        // Then it kept a right solution for more of the twelve problems than one sample each would solve, and only right ones
        var saved = VerifiedSolutions.Load(Path.Combine(o.Out, VerifiedSolutions.FileName), beforeRound: 2).Pairs;
        Assert.InRange(saved.Count, 4, 12);
        Assert.All(saved, p => Assert.True(char.IsAsciiDigit(p.Completion[0]), p.Completion));
        var round = MetricsLog.Read(Path.Combine(o.Out, "metrics.jsonl")).Single(r => r.ContainsKey("kept"));
        Assert.Equal(saved.Count / 12.0, round["solved_fraction"]!.GetValue<double>(), 9);
    }

    [Fact]
    public void The_gold_expert_trains_on_the_tasks_gold_solutions()
    {
        var o = Options("gold", ExpertKind.Gold);
        new ExpertIteration(o, CPU, taskOverride: new SevenIsGold()).Run();
        var saved = VerifiedSolutions.Load(Path.Combine(o.Out, VerifiedSolutions.FileName), beforeRound: 2).Pairs;
        Assert.Equal(12, saved.Count);
        Assert.All(saved, p => Assert.Equal("7", p.Completion));
    }

    [Fact]
    public void The_gold_expert_without_gold_solutions_and_strict_steps_without_a_step_checker_are_clear_errors()
    {
        var noGold = Assert.Throws<InvalidOperationException>(() =>
            new ExpertIteration(Options("nogold", ExpertKind.Gold), CPU, taskOverride: new ToyBandit.StartsWithDigit()).Run());
        Assert.StartsWith("expert 'gold': task 'toy-digit' has no gold solution", noGold.Message);
        var strict = Assert.Throws<ArgumentException>(() =>
            new ExpertIteration(Options("strict", ExpertKind.Sample) with { StrictSteps = true }, CPU, taskOverride: new ToyBandit.StartsWithDigit()).Run());
        Assert.Equal("strict steps need a task with a step checker; 'toy-digit' has none", strict.Message);
    }

    [Fact]
    public void Strict_steps_drop_a_right_answer_reached_through_wrong_steps()
    {
        // Given a 2-step arith problem and two proposals with its right final answer: the gold steps, and a first step
        // that is off by one with a second step that is off by one the other way
        var task = new ArithTask(new ArithOptions(Steps: 2, Digits: 1, Ops: "+"));
        var problem = task.Problems(Split.Train, 1, 4)[0];
        var s = ArithChain.Parse(problem.Prompt).Steps;
        string gold = Solution.Join(task.GoldSolution(problem)!);
        string cancelling = $"{s[0].A}+{s[0].B}={s[0].C + 1}\n{s[0].C + 1}+{s[1].B}={s[1].C}\n#{s[1].C}";
        Assert.True(task.Check(problem, cancelling).Correct);
        IReadOnlyList<IReadOnlyList<string>> Expert(LoadedPolicy _, IReadOnlyList<Problem> problems, int __) =>
            problems.Select(IReadOnlyList<string> (_) => [cancelling, gold]).ToList();

        // When expert iteration keeps what the final-answer check accepts, and what the step checker accepts too
        List<string> Kept(bool strict)
        {
            var tokenizer = new CharTokenizer();
            using var model = RandomModel(tokenizer, 1);
            string policy = dir.File("arith-start-" + strict);
            Checkpoint.Save(policy, model.Config, model, tokenizer, new CheckpointState { Task = task.Name, Kind = "policy" });
            var o = Options("strict-" + strict, ExpertKind.Sample) with { Policy = policy, StrictSteps = strict, ProblemsPerRound = 1, KeepPerProblem = 2 };
            new ExpertIteration(o, CPU, Expert, new OneProblem(task, problem)).Run();
            return VerifiedSolutions.Load(Path.Combine(o.Out, VerifiedSolutions.FileName), beforeRound: 2).Pairs.Select(p => p.Completion).ToList();
        }

        // Then both are kept without strict steps, and only the gold steps with them
        Assert.Equal([cancelling, gold], Kept(strict: false));
        Assert.Equal([gold], Kept(strict: true));
    }

    [Theory]
    [InlineData(null, false, 18 / 24.0, 9)]   // 2 attempts each: the 9 right problems' 18 of 24
    [InlineData(8, false, 18 / 42.0, 9)]      // the 3 never-right ones drawn 2 + 2 + 4 times: 18 of 12 + 6 + 24
    [InlineData(7, false, 18 / 39.0, 9)]      // the last pass cut to the cap, 2 + 2 + 3: 18 of 12 + 6 + 21
    [InlineData(8, true, 36 / 60.0, 6)]       // strict: the 3 with wrong steps drawn to the cap too: 12 + 24 of 60
    public void More_samples_go_to_the_problems_without_a_correct_attempt(int? maxSamples, bool strict, double sampleAccuracy, int kept)
    {
        // Given 12 problems: every attempt at the even ones is right, at 1, 5 and 9 right through wrong steps, at 3, 7
        // and 11 wrong
        var o = Options($"max-{maxSamples}-{strict}", ExpertKind.Sample) with { MaxSamples = maxSamples, StrictSteps = strict };
        new ExpertIteration(o, CPU, taskOverride: new JudgedByIndex()).Run();

        // Then only the problems without a kept solution are drawn again, doubling, up to the cap
        var round = MetricsLog.Read(Path.Combine(o.Out, "metrics.jsonl")).Single(r => r.ContainsKey("kept"));
        Assert.Equal(sampleAccuracy, round["sample_accuracy"]!.GetValue<double>(), 12);
        Assert.Equal(kept, round["kept"]!.GetValue<int>());
    }

    /// <summary>
    /// The toy digit task judged by the problem's index alone: every attempt at an even one is right, at index 1 mod 4 the
    /// answer is right but a step is wrong, at 3 mod 4 the answer is wrong.
    /// </summary>
    sealed class JudgedByIndex : ITask
    {
        readonly ToyBandit.StartsWithDigit toy = new();
        static int Index(Problem p) => int.Parse(p.Id[(p.Id.LastIndexOf('-') + 1)..]);
        public string Name => toy.Name;
        public bool HasStepChecker => true;
        public IReadOnlyList<Problem> Problems(Split split, int count, int seed) => toy.Problems(split, count, seed);
        public Outcome Check(Problem problem, string completion) =>
            Index(problem) % 4 != 3 ? new(true, "0", true) : new(false, null, true, "wrong answer");
        public IReadOnlyList<string>? GoldSolution(Problem problem) => null;
        public bool CheckStep(Problem problem, IReadOnlyList<string> steps) => Index(problem) % 2 == 0;
    }

    /// <summary>A task whose train and test problems are all one problem (the step checker and verifier are the task's).</summary>
    sealed class OneProblem(ITask task, Problem problem) : ITask
    {
        public string Name => task.Name;
        public bool HasStepChecker => task.HasStepChecker;
        public IReadOnlyList<Problem> Problems(Split split, int count, int seed) => Enumerable.Repeat(problem, count).ToList();
        public Outcome Check(Problem p, string completion) => task.Check(p, completion);
        public IReadOnlyList<string>? GoldSolution(Problem p) => task.GoldSolution(p);
        public bool CheckStep(Problem p, IReadOnlyList<string> steps) => task.CheckStep(p, steps);
    }

    public void Dispose() => dir.Dispose();
}
