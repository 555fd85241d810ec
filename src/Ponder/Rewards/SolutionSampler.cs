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
        var rows = problems.SelectMany(p => Enumerable.Repeat(p, samples)).ToList();
        var result = new List<SampledSolution>(rows.Count);
        int chunkIndex = 0;
        foreach (var chunk in rows.Chunk(batchSize))
        {
            var options = new SamplingOptions { Temperature = temperature, MaxNewTokens = maxNew, Seed = Seeds.Mix(seed, chunkIndex++) };
            var generations = generator.Generate(chunk.Select(p => Prompting.Encode(tokenizer, p.Prompt)).ToList(), options);
            for (int j = 0; j < chunk.Length; j++)
                result.Add(new SampledSolution(chunk[j], generations[j].Text, StepText.Steps(generations[j].Text, maxSteps), task.Check(chunk[j], generations[j].Text)));
        }
        return result;
    }
}
