using Ponder.Learning;
using Ponder.Policy;
using Ponder.Rewards;
using Ponder.Tasks;
using static TorchSharp.torch;

namespace Ponder.Tests.Learning;

public sealed class ProcessRewardRlTests : IDisposable
{
    readonly TempDirectory dir = new();

    /// <summary>Scores a step 1 when its line starts with a digit, else 0.</summary>
    sealed class DigitLines : IProcessReward
    {
        public IReadOnlyList<IReadOnlyList<double>> ScoreSteps(IReadOnlyList<Problem> problems, IReadOnlyList<IReadOnlyList<string>> steps) =>
            steps.Select(s => (IReadOnlyList<double>)s.Select(l => char.IsAsciiDigit(l[0]) ? 1.0 : 0.0).ToList()).ToList();
    }

    [Fact]
    public void Step_ends_are_the_tokens_that_complete_each_line()
    {
        var tokenizer = new CharTokenizer();
        string text = "12+3=15\n\n#15";
        int[] tokens = [.. tokenizer.Encode(text), tokenizer.Eos];
        Assert.Equal([6, 11], ProcessAdvantages.StepEndTokens(tokenizer, tokens, text));
    }

    [Fact]
    public void Group_step_advantages_sum_the_normalized_scores_of_later_steps()
    {
        // Two rows in one group: row 0 has steps ending at positions 1 and 3 scored 1 and 0; row 1 one step at 2 scored 1.
        var steps = new List<IReadOnlyList<(int, double)>> { new[] { (1, 1.0), (3, 0.0) }, new[] { (2, 1.0) } };
        var adv = ProcessAdvantages.GroupStepAdvantages(steps, groupSize: 2, width: 4, CPU).data<float>().ToArray();
        double mean = 2.0 / 3, std = Math.Sqrt(((1 - mean) * (1 - mean) * 2 + mean * mean) / 2);
        double hi = (1 - mean) / (std + 1e-4), lo = (0 - mean) / (std + 1e-4);
        Assert.Equal(hi + lo, adv[0], 4);   // before the end of step 0: both steps still ahead
        Assert.Equal(hi + lo, adv[1], 4);
        Assert.Equal(lo, adv[2], 4);        // within step 1
        Assert.Equal(lo, adv[3], 4);
        Assert.Equal(hi, adv[4 + 2], 4);
    }

    [Fact]
    public void Dense_rewards_telescope_to_the_last_score()
    {
        var steps = new List<IReadOnlyList<(int, double)>> { new[] { (0, 0.5), (2, 0.25), (3, 0.75) } };
        var r = ProcessAdvantages.DenseRewards(steps, 4, CPU).data<float>().ToArray();
        Assert.Equal([0.5f, 0f, -0.25f, 0.5f], r);
        Assert.Equal(0.75f, r.Sum(), 5);
    }

    [Theory]
    [InlineData(RlAlgorithm.Grpo)]
    [InlineData(RlAlgorithm.Ppo)]
    public void Process_rewards_alone_teach_the_rewarded_steps(RlAlgorithm algorithm)
    {
        string start = ToyBandit.TinyPolicy(dir);
        double before = ToyBandit.DigitFirstProbability(start);
        var o = new RlOptions
        {
            Policy = start, Out = dir.File(algorithm.ToString()), Algorithm = algorithm, Steps = 12, PromptsPerStep = 4, GroupSize = 8,
            Lr = 1e-2, Warmup = 1, EvalEvery = 0, EvalCount = 4, CheckpointEvery = 0, Seed = 5, OutcomeCoef = 0, ProcessCoef = 1,
            EpochsPerBatch = algorithm == RlAlgorithm.Ppo ? 2 : 1,
        };
        new RlTrainer(o, CPU, new ToyBandit.StartsWithDigit(), new DigitLines()).Run();
        double after = ToyBandit.DigitFirstProbability(o.Out);
        Assert.True(after > 2 * before, $"{algorithm}: P(digit first) {before:F3} → {after:F3}");
    }

    public void Dispose() => dir.Dispose();
}
