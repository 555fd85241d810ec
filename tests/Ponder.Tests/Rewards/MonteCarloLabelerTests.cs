using Ponder.Policy;
using Ponder.Rewards;
using Ponder.Tests.Policy;

namespace Ponder.Tests.Rewards;

public sealed class MonteCarloLabelerTests
{
    const double P = 0.3;   // chance that the toy policy's next line is "a", i.e. that a completion is correct

    /// <summary>After a newline: "a" with probability P, "b" otherwise; after "a" or "b": EOS.</summary>
    static Generator ToyPolicy()
    {
        var tokenizer = new TestCharTokenizer();
        int newline = tokenizer.Encode("\n")[0], a = tokenizer.Encode("a")[0], b = tokenizer.Encode("b")[0];
        var next = new Dictionary<int, IReadOnlyDictionary<int, double>>
        {
            [newline] = new Dictionary<int, double> { [a] = P, [b] = 1 - P },
            [a] = new Dictionary<int, double> { [tokenizer.Eos] = 1 },
            [b] = new Dictionary<int, double> { [tokenizer.Eos] = 1 },
        };
        return new Generator(BigramPolicy.Create(tokenizer.VocabSize, next), tokenizer);
    }

    [Fact]
    public void Mc_labels_match_the_known_success_probability_within_sampling_error()
    {
        // Given a policy whose completion from any step prefix is correct with probability 0.3
        var generator = ToyPolicy();
        var options = new LabelOptions { Problems = 120, Samples = 1, K = 8, Seed = 5, BatchSize = 128 };

        // When every sampled one-step solution's prefix is completed k = 8 times
        var labels = new MonteCarloLabeler(generator, new ToyTask(), options).Label("toy-policy");

        // Then each solution has one step; its outcome is the policy's first line, right 30% of the time
        Assert.All(labels.Solutions, s => Assert.Single(s.Steps));
        Assert.All(labels.Solutions, s => Assert.Equal(s.Steps[0] == "a", s.Correct));
        int n = labels.Solutions.Count;
        Assert.Equal(120, n);
        Assert.InRange(labels.Solutions.Average(s => s.Correct ? 1.0 : 0.0), P - 4 * Math.Sqrt(P * (1 - P) / n), P + 4 * Math.Sqrt(P * (1 - P) / n));

        // And the soft labels average 0.3 within 4 standard errors (120 prefixes × 8 completions), each a multiple of 1/8
        double soft = labels.Solutions.Average(s => s.Labels[0]);
        double softError = Math.Sqrt(P * (1 - P) / (n * 8));
        Assert.InRange(soft, P - 4 * softError, P + 4 * softError);
        Assert.All(labels.Solutions, s => Assert.Equal(0, s.Labels[0] * 8 % 1, 9));

        // And the hard labels (any of 8 correct) hold at the rate 1 − 0.7⁸ ≈ 0.94
        double hardExpected = 1 - Math.Pow(1 - P, 8);
        double hard = labels.Solutions.Average(s => s.Target(0, LabelTarget.Hard));
        Assert.InRange(hard, hardExpected - 4 * Math.Sqrt(hardExpected * (1 - hardExpected) / n), 1.0);

        // And the cost counts the 8 completions of each prefix and the tokens the policy ran while decoding: a sample
        // runs its line token (its EOS ends it unrun); a completion runs its line and its EOS (forked states stay whole)
        Assert.Equal(n * 8, labels.Header.Cost.Rollouts);
        Assert.Equal(n * 8 * 2, labels.Header.Cost.RolloutTokens);
        Assert.Equal(n, labels.Header.Cost.SampledTokens);
    }

    /// <summary>Prompts end in '=' (not a newline), and a completion is right when its last non-empty line is "a".</summary>
    sealed class ColonTask : Ponder.Tasks.ITask
    {
        public string Name => "colon";
        public bool HasStepChecker => false;
        public IReadOnlyList<Ponder.Tasks.Problem> Problems(Ponder.Tasks.Split split, int count, int seed) =>
            Enumerable.Range(0, count).Select(i => new Ponder.Tasks.Problem($"{split}-{seed}-{i}", $"q{i % 10}=", "a")).ToList();
        public Ponder.Tasks.Outcome Check(Ponder.Tasks.Problem problem, string completion) =>
            Ponder.Tasks.Solution.Lines(completion) is { Count: > 0 } lines ? new(lines[^1] == "a", lines[^1], true) : new(false, null, false);
        public IReadOnlyList<string>? GoldSolution(Ponder.Tasks.Problem problem) => null;
        public bool CheckStep(Ponder.Tasks.Problem problem, IReadOnlyList<string> steps) => throw new NotSupportedException();
    }

    [Fact]
    public void A_solution_that_answers_again_after_its_final_line_is_labelled_by_what_a_reward_model_reads()
    {
        // Given a policy that writes "#b", then another answer line "a" (as "#### 71\nwait\n#### 72" does): the verifier
        // reads the whole text as right, while the steps a reward model reads end at "#b"
        var tokenizer = new TestCharTokenizer();
        int colon = tokenizer.Encode("=")[0], newline = tokenizer.Encode("\n")[0], hash = tokenizer.Encode("#")[0];
        int a = tokenizer.Encode("a")[0], b = tokenizer.Encode("b")[0];
        var next = new Dictionary<int, IReadOnlyDictionary<int, double>>
        {
            [colon] = new Dictionary<int, double> { [hash] = 1 }, [hash] = new Dictionary<int, double> { [b] = 1 },
            [b] = new Dictionary<int, double> { [newline] = 1 }, [newline] = new Dictionary<int, double> { [a] = 1 },
            [a] = new Dictionary<int, double> { [tokenizer.Eos] = 1 },
        };
        var generator = new Generator(BigramPolicy.Create(tokenizer.VocabSize, next), tokenizer);

        // When labelled, Then the read steps ("#b") carry the verifier's verdict on them: wrong
        var labels = new MonteCarloLabeler(generator, new ColonTask(), new LabelOptions { Problems = 2, Samples = 1, K = 4 }).Label("p");
        Assert.All(labels.Solutions, s =>
        {
            Assert.Equal(["#b"], s.Steps);
            Assert.Equal([0.0], s.Labels);
            Assert.False(s.Correct);
        });
    }

    [Fact]
    public void A_prefix_ending_in_the_final_line_is_labelled_by_the_verifier_without_completions()
    {
        // Given a policy that writes "#" lines: after a newline "#" then "a" then EOS — every sample is "#a"
        var tokenizer = new TestCharTokenizer();
        int newline = tokenizer.Encode("\n")[0], hash = tokenizer.Encode("#")[0], a = tokenizer.Encode("a")[0];
        var next = new Dictionary<int, IReadOnlyDictionary<int, double>>
        {
            [newline] = new Dictionary<int, double> { [hash] = 1 },
            [hash] = new Dictionary<int, double> { [a] = 1 },
            [a] = new Dictionary<int, double> { [tokenizer.Eos] = 1 },
        };
        var generator = new Generator(BigramPolicy.Create(tokenizer.VocabSize, next), tokenizer);

        // When labelled
        var labels = new MonteCarloLabeler(generator, new ToyTask(), new LabelOptions { Problems = 4, Samples = 2, K = 8 }).Label("p");

        // Then the single final step takes the verifier's verdict ("#a" is not "a": wrong) and nothing was completed
        Assert.All(labels.Solutions, s => Assert.Equal(["#a"], s.Steps));
        Assert.All(labels.Solutions, s => Assert.Equal([0.0], s.Labels));
        Assert.Equal(0, labels.Header.Cost.Rollouts);
        Assert.Equal(0, labels.Header.Cost.RolloutTokens);
    }

    [Fact]
    public void With_k_zero_nothing_is_completed_and_steps_carry_the_outcome()
    {
        var labels = new MonteCarloLabeler(ToyPolicy(), new ToyTask(), new LabelOptions { Problems = 20, Samples = 1, K = 0 }).Label("p");

        Assert.All(labels.Solutions, s => Assert.Equal([s.Correct ? 1.0 : 0.0], s.Labels));
        Assert.Equal(0, labels.Header.Cost.Rollouts);
        Assert.Equal(0, labels.Header.K);
    }
}
