using Ponder.Policy;
using Ponder.Thinking;
using static TorchSharp.torch;

namespace Ponder.Tests.Thinking;

public sealed class ThinkingStageTests
{
    [Fact]
    public void A_micro_stage_writes_the_summary_keys_the_demo_reads_and_its_figures()
    {
        // Given a micro recipe (a 16-wide model, 20k training tokens, 8 held-out problems, one GRPO batch)
        using var dir = new TempDirectory();
        var recipe = ThinkingRecipe.Quick(3) with
        {
            Model = new TransformerConfig { HiddenSize = 16, NumLayers = 1, NumHeads = 2, NumKvHeads = 1, IntermediateSize = 32, MaxPositions = 128 },
            TrainTokens = 10_000, EvalCount = 4, Budgets = [8, 32], ParallelSamples = 2, RlSteps = 1, RlPrompts = 2, RlGroup = 2,
        };

        // When the stage runs
        var result = ThinkingStage.Run(dir.Path, recipe, CPU);

        // Then the headline keys are there with values in range, the budget curve has one point per budget within its cap,
        // both SFT runs spent about the same tokens, and the figures exist and are linked from the Markdown
        foreach (string key in new[] { "think_trace_sft_acc", "think_optimal_sft_acc", "think_rl_acc_before", "think_rl_acc_after" })
            Assert.InRange(result.Summary[key]!.GetValue<double>(), 0, 1);
        var curve = result.Summary["think_budget_curve"]!.AsArray();
        Assert.Equal(2, curve.Count);
        foreach (var point in curve) Assert.True(point!["thinking_tokens"]!.GetValue<double>() <= point["budget"]!.GetValue<int>());
        foreach (var point in result.Summary["think_optimal_parallel_curve"]!.AsArray())   // countdown: no majority vote, the key kept as null
            Assert.True(point!.AsObject().ContainsKey("maj_at_k") && point["maj_at_k"] is null && point["pass_at_k"] is not null);
        double trace = result.Summary["think_trace_sft_tokens"]!.GetValue<long>(), optimal = result.Summary["think_optimal_sft_tokens"]!.GetValue<long>();
        Assert.InRange(trace / optimal, 0.7, 1.3);
        Assert.All(result.Figures, f => Assert.True(File.Exists(f), f));
        Assert.Contains("think_budget.png", result.Markdown);
        Assert.Contains("| dfs |", result.Markdown);
        Assert.DoesNotContain("uncapped", result.Markdown);   // the thinking is capped by the context's room, and the report says so
        Assert.Contains($"{recipe.EvalCount} test problems, thinking up to the context's room (", result.Markdown);
    }
}
