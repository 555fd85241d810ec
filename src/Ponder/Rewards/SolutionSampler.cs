using Ponder.Policy;
using Ponder.Scaling;
using Ponder.Tasks;

namespace Ponder.Rewards;

/// <summary>Samples solutions from a policy in batches and checks them: the raw material of labels and of best-of-N.</summary>
public static class SolutionSampler
{
    /// <summary>
    /// <paramref name="samples"/> solutions per problem at <paramref name="temperature"/>, in problem order
    /// (problem i's samples are rows i·samples … i·samples + samples − 1). Batch c is seeded by Mix(seed, c).
    /// </summary>
    public static List<SampledSolution> Sample(Generator generator, ITask task, IReadOnlyList<Problem> problems, int samples,
        double temperature, int seed, int batchSize = 128, int maxSteps = 16)
    {
        ArgumentNullException.ThrowIfNull(generator);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(samples);
        var tokenizer = generator.Tokenizer;
        int maxNew = Evaluator.MaxNewTokens(tokenizer, task, problems, generator.Model.Config.MaxPositions);
        var generations = RepeatedSampler.Sample(generator, problems.Select(p => Prompting.Encode(tokenizer, p.Prompt)).ToList(), samples,
            new SamplingOptions { Temperature = temperature, MaxNewTokens = maxNew }, seed, batchSize);
        return problems.SelectMany((p, i) => generations[i].Select(g => new SampledSolution(p, g.Text, StepText.Steps(g.Text, maxSteps), task.Check(p, g.Text)))).ToList();
    }
}
