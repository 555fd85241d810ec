using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Ponder.Scaling;

/// <summary>Writes a scaling run as <c>scaling.csv</c>, <c>scaling.json</c>, <c>report.md</c> and two PNGs.</summary>
public static class ScalingReport
{
    private static readonly string[] TreeArms = ["beam", "dvts", "mcts"];

    /// <summary>Writes every file into <paramref name="outDir"/>; returns the Markdown section (with PNG links relative to it) and the PNG paths.</summary>
    public static (string Markdown, IReadOnlyList<string> Pngs) Write(ScalingRun run, string outDir, string pngPrefix = "scaling_")
    {
        ArgumentNullException.ThrowIfNull(run);
        Directory.CreateDirectory(outDir);
        var csv = new StringBuilder("split,arm,strategy,n,seed,problems,correct,accuracy,flops_per_problem,tokens_per_problem,forward_per_generated,seconds\n");
        foreach (var (split, points) in new[] { ("test", run.TestPoints), ("validation", run.ValidationPoints) })
            foreach (var p in points)
                csv.AppendLine(Inv($"{split},{p.Arm},{p.Strategy},{p.N},{p.Seed},{p.Problems},{p.Correct},{p.Accuracy:F4},{p.Flops:G6},{p.Tokens:F1},{p.ForwardPerGenerated:F4},{p.Seconds:F2}"));
        AtomicFile.Write(Path.Combine(outDir, "scaling.csv"), csv.ToString());
        AtomicFile.Write(Path.Combine(outDir, "scaling.json"), Json(run).ToJsonString(new() { WriteIndented = true }));
        string accuracy = Path.Combine(outDir, pngPrefix + "accuracy.png"), error = Path.Combine(outDir, pngPrefix + "error.png");
        ScalingPlots.Accuracy(accuracy, $"Accuracy vs test-time compute ({run.Task})", run.Curves, run.Optimal, run.Binned);
        ScalingPlots.ErrorFits(error, "Error rate vs compute, fitted power laws", run.Curves);
        string markdown = Markdown(run, Path.GetFileName(accuracy), Path.GetFileName(error));
        return (markdown, [accuracy, error]);
    }

    /// <summary>Headline figures per arm (fitted exponent, R², efficiency vs best-of-N majority) and the two checks.</summary>
    public static JsonObject Summary(ScalingRun run)
    {
        var arms = new JsonObject();
        foreach (var c in run.Curves)
        {
            var eff = run.Efficiency.FirstOrDefault(e => e.Arm == c.Arm);
            arms[c.Arm] = new JsonObject
            {
                ["error_exponent"] = Num(c.ErrorFit.Exponent), ["error_fit_r2"] = Num(c.ErrorFit.RSquared),
                ["efficiency_vs_bon_majority"] = eff?.Ratio is { } r ? Math.Round(r, 3) : null,
                ["best_accuracy"] = Math.Round(c.Points.Max(p => p.Accuracy), 4),
            };
        }
        return new JsonObject
        {
            ["prm"] = run.Prm, ["problems"] = run.Test.Problems, ["seeds"] = run.Test.Seeds,
            ["budgets"] = new JsonArray(run.Test.Budgets.Select(b => (JsonNode)b).ToArray()),
            ["strategies"] = arms,
            ["tree_beats_majority_at_equal_compute"] = TreeWins(run).Count > 0,
            ["compute_optimal_at_least_as_good"] = run.Optimal.Count > 0 && run.Optimal.All(r => r.AtLeastAsGood),
            ["seconds"] = Math.Round(run.Seconds, 1),
        };
    }

    private static JsonObject Json(ScalingRun run)
    {
        var curves = new JsonArray(run.Curves.Select(c => (JsonNode)new JsonObject
        {
            ["arm"] = c.Arm, ["strategy"] = c.Strategy,
            ["fit"] = new JsonObject { ["coefficient"] = Num(c.ErrorFit.Coefficient), ["exponent"] = Num(c.ErrorFit.Exponent), ["r2"] = Num(c.ErrorFit.RSquared), ["points"] = c.ErrorFit.Points },
            ["points"] = new JsonArray(c.Points.Select(p => (JsonNode)new JsonObject
            {
                ["n"] = p.N, ["flops"] = p.Flops, ["tokens"] = Math.Round(p.Tokens, 1), ["accuracy"] = Math.Round(p.Accuracy, 4), ["spread"] = Math.Round(p.Spread, 4), ["seeds"] = p.Seeds,
            }).ToArray()),
        }).ToArray());
        var json = new JsonObject
        {
            ["command"] = run.Command, ["task"] = run.Task, ["policy"] = run.Policy, ["policy_parameters"] = run.PolicyParameters, ["prm"] = run.Prm, ["orm"] = run.Orm,
            ["summary"] = Summary(run), ["curves"] = curves,
            ["efficiency"] = new JsonArray(run.Efficiency.Select(e => (JsonNode)new JsonObject { ["arm"] = e.Arm, ["target"] = e.Target, ["flops"] = e.Flops, ["ratio"] = e.Ratio }).ToArray()),
            ["compute_optimal"] = new JsonArray(run.Optimal.Select(r => (JsonNode)new JsonObject
            {
                ["budget_flops"] = r.Budget, ["chosen"] = r.Chosen, ["n"] = r.N, ["accuracy"] = r.Accuracy, ["spread"] = r.Spread,
                ["best_single"] = r.BestArm, ["best_single_accuracy"] = r.BestAccuracy, ["best_single_spread"] = r.BestSpread, ["at_least_as_good"] = r.AtLeastAsGood,
            }).ToArray()),
            ["compute_optimal_binned"] = new JsonArray(run.Binned.Select(r => (JsonNode)new JsonObject
            {
                ["budget_flops"] = r.Budget, ["picks"] = r.Picks, ["flops"] = r.Flops, ["estimate_flops"] = r.EstimateFlops, ["accuracy"] = r.Accuracy, ["spread"] = r.Spread,
                ["unbinned"] = r.Unbinned, ["unbinned_flops"] = r.UnbinnedFlops, ["unbinned_accuracy"] = r.UnbinnedAccuracy, ["unbinned_spread"] = r.UnbinnedSpread,
                ["best_single"] = r.BestArm, ["best_single_accuracy"] = r.BestAccuracy, ["best_single_spread"] = r.BestSpread,
            }).ToArray()),
            ["skipped"] = new JsonArray(run.Skipped.Select(s => (JsonNode)s).ToArray()),
        };
        if (run.BinnedPlan is { } plan)
            json["difficulty_bins"] = new JsonObject
            {
                ["samples"] = plan.Estimator.Samples, ["temperature"] = plan.Estimator.Temperature,
                ["signal"] = Signal(run), ["edges"] = new JsonArray(plan.Bins.Edges.Select(e => (JsonNode)Math.Round(e, 4)).ToArray()),
            };
        return json;
    }

    private static List<string> TreeWins(ScalingRun run)
    {
        var reference = run.Curves.FirstOrDefault(c => c.Arm == ScalingAnalysis.Reference);
        if (reference is null) return [];
        return run.Curves.Where(c => TreeArms.Contains(c.Arm))
            .SelectMany(c => ScalingAnalysis.Beats(c, reference).Select(w => Inv($"{c.Arm} N={w.Point.N}: {w.Point.Accuracy:P1} ± {w.Point.Spread:P1} at {w.Point.Flops:G3} FLOPs vs majority's {w.Reference:P1} within that compute")))
            .ToList();
    }

    private static string Markdown(ScalingRun run, string accuracyPng, string errorPng)
    {
        var md = new StringBuilder();
        md.AppendLine("## Inference scaling").AppendLine();
        md.AppendLine(Inv($"Made by `{run.Command}` in {run.Seconds:F0}s. Policy `{run.Policy}` ({run.PolicyParameters:N0} parameters) on `{run.Task}`; ") +
            Inv($"{run.Test.Problems} held-out problems (test split, problem seed {run.Test.ProblemSeed}) × budgets N ∈ {{{string.Join(", ", run.Test.Budgets)}}} × {run.Test.Seeds} search seeds. ") +
            $"Process reward: **{run.Prm}**; outcome reward: {run.Orm}. Compute is what each search's meter counted: policy prefill + decode tokens and reward-model tokens, in forward FLOPs (2 × weights + attention per token).").AppendLine();
        md.AppendLine($"![accuracy vs compute]({accuracyPng})").AppendLine();
        md.AppendLine("| strategy | N | FLOPs/problem | tokens/problem | accuracy | ± (seeds) |").AppendLine("|---|---|---|---|---|---|");
        foreach (var c in run.Curves)
            foreach (var p in c.Points)
                md.AppendLine(Inv($"| {c.Arm} | {p.N} | {p.Flops:G3} | {p.Tokens:F0} | {p.Accuracy:P1} | {p.Spread:P1} |"));
        foreach (var r in run.Binned)
            md.AppendLine(Inv($"| compute-optimal (binned) | budget {r.Budget:G3} | {r.Flops:G3} | – | {r.Accuracy:P1} | {r.Spread:P1} |"));
        md.AppendLine().AppendLine("### Power-law fits of the error rate").AppendLine();
        md.AppendLine("error ≈ a · FLOPs^b, least squares in log-log over each strategy's budgets (points with zero error are left out).").AppendLine();
        md.AppendLine($"![error vs compute]({errorPng})").AppendLine();
        md.AppendLine("| strategy | exponent b | a | R² | points |").AppendLine("|---|---|---|---|---|");
        foreach (var c in run.Curves.Where(c => c.Points.Count > 1))
            md.AppendLine(double.IsNaN(c.ErrorFit.Exponent) ? $"| {c.Arm} | – (fewer than two points with error > 0) | – | – | {c.ErrorFit.Points} |"
                : Inv($"| {c.Arm} | {c.ErrorFit.Exponent:F3} | {c.ErrorFit.Coefficient:G3} | {c.ErrorFit.RSquared:F2} | {c.ErrorFit.Points} |"));
        md.AppendLine().AppendLine("### Compute to reach best-of-N majority's best accuracy").AppendLine();
        if (run.Efficiency.Count > 0)
        {
            md.AppendLine(Inv($"Target: {run.Efficiency[0].Target:P1} (majority's best). Ratio = majority's FLOPs ÷ the strategy's FLOPs for it (interpolated in log FLOPs); > 1 is cheaper than majority.")).AppendLine();
            md.AppendLine("| strategy | FLOPs to target | efficiency ratio |").AppendLine("|---|---|---|");
            foreach (var e in run.Efficiency)
                md.AppendLine(e.Flops is { } f ? Inv($"| {e.Arm} | {f:G3} | {e.Ratio:F2}× |") : $"| {e.Arm} | not reached | – |");
        }
        md.AppendLine().AppendLine("### Tree search against best-of-N majority at equal compute").AppendLine();
        var wins = TreeWins(run);
        if (run.Test.Seeds < 2) md.AppendLine("With one seed a cell has no spread to judge a difference by, so no win is claimed (run with `--seeds 2` or more).").AppendLine();
        else md.AppendLine(wins.Count > 0 ? "A tree strategy beats majority's best accuracy within the same FLOPs by more than the seeds' spread:\n\n" + string.Join("\n", wins.Select(w => "- " + w))
            : "No tree strategy (beam, DVTS, MCTS) beats majority's best accuracy within the same FLOPs by more than the seeds' spread in this run. " +
              "Trees are only as good as the PRM that steers them: compare the PRM-guided arms above with best-of-N majority, which uses no PRM. " +
              "Besides, the budgets tested are small for trees (each needs N ≥ M) and the PRM calls cost FLOPs that majority does not pay.").AppendLine();
        md.AppendLine().AppendLine("### Compute-optimal selection").AppendLine();
        md.AppendLine(Inv($"For each FLOPs budget, the (strategy, N) with the best accuracy on a validation split ({run.Validation.Problems} train-split problems, {run.Validation.Seeds} seed(s)) among those that fit; ") +
            "its test accuracy is its own test cell (same strategy, N, problems and seeds). Compared with the best single strategy on test within the budget, " +
            "or within what the choice spent on test when that is more.").AppendLine();
        md.AppendLine("| budget FLOPs | chosen | its test FLOPs | accuracy | best single | its accuracy | ≥ within spread |").AppendLine("|---|---|---|---|---|---|---|");
        foreach (var r in run.Optimal)
            md.AppendLine(Inv($"| {r.Budget:G3} | {r.Chosen} N={r.N} | {r.Flops:G3} | {r.Accuracy:P1} ± {r.Spread:P1} | {r.BestArm} | {r.BestAccuracy:P1} ± {r.BestSpread:P1} | {(r.AtLeastAsGood ? "yes" : "no")} |"));
        if (run.BinnedPlan is { } plan) Binned(md, run, plan);
        if (run.Skipped.Count > 0) md.AppendLine().AppendLine("Cells not run (checked before any work): " + string.Join("; ", run.Skipped.Distinct()) + ".");
        return md.ToString();
    }

    private static string Signal(ScalingRun run) => run.Prm == "none" ? "agreement with the samples' majority answer" : "mean PRM score (last step) of the samples";

    private static void Binned(StringBuilder md, ScalingRun run, Search.BinnedComputeOptimal plan)
    {
        md.AppendLine().AppendLine("### Compute-optimal per difficulty bin").AppendLine();
        md.AppendLine(Inv($"Difficulty is estimated without the answer from {plan.Estimator.Samples} samples of the policy (temperature {plan.Estimator.Temperature}): the {Signal(run)}. ") +
            Inv($"Both splits are binned by this estimate, into {plan.Bins.Count} bins at the quantiles of the validation estimates (edges {string.Join(", ", plan.Bins.Edges.Select(e => e.ToString("F3", CultureInfo.InvariantCulture)))}; bin 1 is the hardest). ") +
            "Per bin, the (strategy, N) with the best validation accuracy on that bin's problems among those that fit the budget left after the estimate; on test each problem's estimate picks its bin. " +
            "FLOPs include the estimate (its samples and PRM calls); accuracy is the chosen settings' own test cells, problem by problem.").AppendLine();
        md.AppendLine("| budget FLOPs | compute-optimal (binned): picks | its FLOPs (of which estimate) | accuracy | compute-optimal (unbinned) | accuracy | best single | accuracy |");
        md.AppendLine("|---|---|---|---|---|---|---|---|");
        foreach (var r in run.Binned)
            md.AppendLine(Inv($"| {r.Budget:G3} | {r.Picks} | {r.Flops:G3} ({r.EstimateFlops:G3}) | {r.Accuracy:P1} ± {r.Spread:P1} | {r.Unbinned} | {r.UnbinnedAccuracy:P1} ± {r.UnbinnedSpread:P1} | {r.BestArm} | {r.BestAccuracy:P1} ± {r.BestSpread:P1} |"));
        if (run.Binned.Count == 0) md.AppendLine("(no budget at which every pick had a test cell)");
    }

    private static JsonNode? Num(double v) => double.IsFinite(v) ? Math.Round(v, 4) : null;

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
