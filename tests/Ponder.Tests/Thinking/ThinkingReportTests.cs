using Ponder.Thinking;

namespace Ponder.Tests.Thinking;

public sealed class ThinkingReportTests
{
    /// <summary>The budget section of the report for a hard-cap curve of (budget, accuracy, mean thinking tokens, capped fraction).</summary>
    static string BudgetSection(params (int Budget, double Accuracy, double Thinking, double Capped)[] points) =>
        BudgetSection([new(1, 0.3, 0.3, 100, 140), new(2, 0.4, 0.3, 200, 280)], points);

    static string BudgetSection(List<ParallelPoint> parallel, params (int Budget, double Accuracy, double Thinking, double Capped)[] points)
    {
        using var dir = new TempDirectory();
        var cap = points.Select(p => new BudgetPoint(p.Budget, false, p.Accuracy, p.Thinking, p.Thinking + 10, p.Thinking + 40, p.Capped, 0)).ToList();
        var report = new ThinkingReport(ThinkingRecipe.Quick(1));
        report.Budget(dir.File("budget.png"), cap, cap, cap, parallel, parallel, new ThinkingRoom(351, 351, ByContext: true));
        return report.ToString();
    }

    [Fact]
    public void A_curve_that_falls_before_it_rises_is_said_to_rise_where_it_does()
    {
        // Given a curve that falls from 16 to 32 thinking tokens, then rises by 28 points
        // When the report describes it
        string text = BudgetSection((16, 0.10, 16, 1), (32, 0.02, 32, 1), (64, 0.20, 60, 0.5), (128, 0.30, 90, 0.2));

        // Then it names the rise and the fall before it, and does not say accuracy never rises
        Assert.DoesNotContain("never rises", text);
        Assert.Contains($"Accuracy rises from {0.02:P1} at 32 to {0.30:P1} at 128 thinking tokens", text);
        Assert.Contains($"after falling from {0.10:P1} at 16 to {0.02:P1} at 32", text);
    }

    [Fact]
    public void A_slow_rise_of_5_points_is_not_said_never_to_rise()
    {
        // Given a curve that climbs 5.5 points in steps that level off within the 2-point slack (no steady rise range)
        // When the report describes it
        string text = BudgetSection((16, 0.10, 16, 1), (32, 0.14, 32, 1), (64, 0.155, 60, 0.5));

        // Then it names the rise between the two budgets that are furthest apart in accuracy
        Assert.DoesNotContain("never rises", text);
        Assert.Contains($"Accuracy rises from {0.10:P1} at 16 to {0.155:P1} at 64 thinking tokens.", text);
    }

    [Fact]
    public void A_flat_curve_is_said_never_to_rise_by_5_points()
    {
        // Given a curve whose accuracies stay within 2 points of each other
        // When the report describes it
        string text = BudgetSection((16, 0.20, 16, 1), (64, 0.22, 40, 0.2), (256, 0.21, 45, 0));

        // Then it says no budget is 5 points above a smaller one
        Assert.Contains("Accuracy never rises by 5 points from one budget to a larger one.", text);
    }

    [Fact]
    public void Larger_budgets_that_completions_still_reach_are_not_called_unused()
    {
        // Given a curve that stops rising at 32 while 30 % of completions still think to the cap at 64
        // When the report describes it
        string text = BudgetSection((16, 0.10, 16, 1), (32, 0.30, 32, 0.6), (64, 0.30, 55, 0.3), (128, 0.29, 80, 0.1));

        // Then it says accuracy stops rising, does not call the larger budgets unused, and gives what they use
        Assert.Contains($"Accuracy stops rising at 32 thinking tokens ({0.30:P1})", text);
        Assert.DoesNotContain("unused", text);
        Assert.Contains($"at 64, {0.3:P0} of completions think to the cap (55.0 thinking tokens on average)", text);
    }

    [Fact]
    public void Larger_budgets_that_no_completion_reaches_are_called_unused()
    {
        // Given a curve that stops rising at 32, where no completion reaches a larger cap
        // When the report describes it
        string text = BudgetSection((16, 0.10, 16, 1), (32, 0.30, 24, 0), (64, 0.30, 24, 0), (128, 0.30, 24, 0));

        // Then it says the larger budgets go unused
        Assert.Contains($"Accuracy stops rising at 32 thinking tokens ({0.30:P1}); larger budgets go unused: no completion reaches their cap", text);
    }

    [Fact]
    public void Countdown_parallel_points_are_reported_as_best_of_k_with_the_verifier_and_no_majority()
    {
        // Given parallel points without a majority vote (countdown) and with one (a task whose answers differ)
        (int, double, double, double)[] curve = [(16, 0.1, 16, 1), (32, 0.3, 30, 0.5)];
        string countdown = BudgetSection([new(1, 0.3, null, 100, 140), new(2, 0.4, null, 200, 280)], curve);
        string voting = BudgetSection([new(1, 0.3, 0.3, 100, 140), new(2, 0.4, 0.35, 200, 280)], curve);

        // When the report lays them out
        // Then countdown's table has pass@k and no maj@k column, and says why; a task with a vote keeps the column
        Assert.DoesNotContain("maj@k", countdown);
        Assert.Contains("| k | trace pass@k | trace tokens | optimal pass@k | optimal tokens |", countdown);
        Assert.Contains("best of k with the verifier; no majority vote", countdown);
        Assert.Contains($"| 2 | {0.4:P1} | 200 | {0.4:P1} | 200 |", countdown);
        Assert.Contains($"| 2 | {0.4:P1} | 200 | {0.4:P1} | {0.35:P1} | 200 |", voting);
    }

    [Fact]
    public void Parallel_points_say_their_thinking_is_capped_by_the_context_room()
    {
        // Given parallel points whose thinking had no cap but the context's room (351 tokens)
        // When the report describes them
        string text = BudgetSection((16, 0.1, 16, 1), (32, 0.3, 30, 0.5));

        // Then it gives the room instead of calling the thinking uncapped
        Assert.DoesNotContain("uncapped", text);
        Assert.Contains("Parallel points: k samples at temperature 1, thinking up to the context's room (351 tokens), x = k × mean tokens", text);
    }
}
