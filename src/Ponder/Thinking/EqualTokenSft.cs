using Ponder.Learning;
using Ponder.Policy;
using Ponder.Tasks;

namespace Ponder.Thinking;

/// <summary>
/// SFT runs at equal training compute: each task gets the steps that make about the same number of training tokens
/// (prompt + completion tokens, as <see cref="SftTrainer"/> counts them), estimated from a sample of its training batches.
/// Tasks with longer gold solutions (search traces) therefore see fewer problems than tasks with short ones.
/// </summary>
public static class EqualTokenSft
{
    /// <summary>Mean training tokens of one batch of <paramref name="batchSize"/> problems (dropped problems contribute nothing).</summary>
    public static double TokensPerStep(ITask task, ITokenizer tokenizer, int batchSize, int seed, int sampleSteps = 32)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(tokenizer);
        long total = 0;
        for (int step = 1; step <= sampleSteps; step++)
            foreach (var (prompt, completion) in SftTrainer.BatchExamples(task, seed, step, batchSize))
                total += Prompting.Encode(tokenizer, prompt).Length + tokenizer.Encode(completion).Length;   // inputs: BOS + prompt + completion (EOS is only a target)
        return total / (double)sampleSteps;
    }

    /// <summary>SFT options for <paramref name="taskSpec"/> with the steps that spend about <paramref name="tokens"/> training tokens.</summary>
    public static SftOptions Options(string taskSpec, string outDir, ThinkingRecipe recipe, long tokens)
    {
        ArgumentNullException.ThrowIfNull(recipe);
        var task = TaskRegistry.Create(taskSpec);
        double perStep = TokensPerStep(task, new CharTokenizer(), recipe.BatchSize, recipe.Seed);
        int steps = (int)Math.Max(1, Math.Round(tokens / perStep));
        return new SftOptions
        {
            Task = taskSpec, Out = outDir, Model = recipe.Model, Seed = recipe.Seed, Steps = steps, BatchSize = recipe.BatchSize, Lr = recipe.Lr,
            Warmup = Math.Min(100, Math.Max(1, steps / 10)), EvalEvery = 0, EvalCount = Math.Min(16, recipe.EvalCount), CheckpointEvery = 0,
        };
    }
}
