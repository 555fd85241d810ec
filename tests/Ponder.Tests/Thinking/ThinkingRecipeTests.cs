using Ponder.Policy;
using Ponder.Tasks;
using Ponder.Thinking;

namespace Ponder.Tests.Thinking;

public sealed class ThinkingRecipeTests
{
    [Fact]
    public void The_full_recipe_trains_on_four_numbers_with_traces_that_fit_the_context_at_most_three_times_the_optimal_length()
    {
        // Given the full stage's recipe
        var recipe = ThinkingRecipe.Full(1);
        var traceTask = (ThinkingTask)TaskRegistry.Create(recipe.TraceTask);

        // When its trace and optimal completions are measured on 200 training problems
        var rows = TraceLengths.Measure(TaskRegistry.Create(recipe.Countdown), traceTask.Options, [recipe.Style, TraceStyle.OptimalOnly],
            new CharTokenizer(), 200, recipe.Seed);

        // Then it is the 4-number task, nothing is dropped, every completion fits the context (prompt included),
        // traces are at most 3x the optimal length and most problems get a real search trace
        Assert.Equal(ThinkingRecipe.FourNumbers, recipe.Countdown);
        var trace = rows.Single(r => r.Style == recipe.Style);
        var optimal = rows.Single(r => r.Style == TraceStyle.OptimalOnly);
        Assert.All(rows, r => Assert.Equal(0, r.Dropped));
        Assert.All(rows, r => Assert.True(r.MaxTokens + 32 <= recipe.Model.MaxPositions, $"{r.Style}: {r.MaxTokens} tokens"));
        Assert.InRange(trace.MeanTokens / optimal.MeanTokens, 1.0, 3.0);
        Assert.True(trace.FellBack < trace.Problems / 2, $"{trace.FellBack} of {trace.Problems} fell back");
    }

    [Fact]
    public void The_demo_and_toy_recipes_keep_the_short_three_number_setting_and_equal_training_budgets()
    {
        // Given the three recipes
        var full = ThinkingRecipe.Full(1);
        var demo = ThinkingRecipe.Demo(1);
        var quick = ThinkingRecipe.Quick(1);

        // Then the demo and the toy train on 3 numbers with far fewer tokens than the full stage, and the demo keeps its training settings otherwise
        Assert.Equal(ThinkingRecipe.ThreeNumbers, demo.Countdown);
        Assert.Equal(ThinkingRecipe.ThreeNumbers, quick.Countdown);
        Assert.Equal(1_000_000, demo.TrainTokens);
        Assert.True(full.TrainTokens >= 6 * demo.TrainTokens);
        Assert.Equal((full.Model.HiddenSize, full.Model.NumLayers, full.Model.MaxPositions), (demo.Model.HiddenSize, demo.Model.NumLayers, demo.Model.MaxPositions));
        Assert.Equal(full.BatchSize, demo.BatchSize);
        Assert.Contains("numbers=3", demo.TraceTask, StringComparison.Ordinal);
        Assert.Contains("numbers=4", full.TraceTask, StringComparison.Ordinal);
    }
}
