using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Ponder.Learning;
using Ponder.Policy;
using Ponder.Scaling;

namespace Ponder.Thinking;

/// <summary>The Markdown section and plots of the thinking stage, filled in as its parts finish.</summary>
internal sealed class ThinkingReport(ThinkingRecipe recipe)
{
    private readonly StringBuilder _text = new();

    public void Lengths(IReadOnlyList<TraceLengthRow> rows)
    {
        Line("## Thinking longer: search traces, budgets and RL").Line();
        string bound = recipe.Fallback == TraceFallback.Optimal
            ? "a problem not solved within them (or whose trace would not fit the context) is trained on its optimal path instead (the table counts them)"
            : "problems not solved within them are dropped from training (the table counts them)";
        Line($"Task `{recipe.Countdown}`. Gold completions are `<think>` + a search trace + `</think>` + the answer; traces stop after " +
             $"{recipe.MaxExpansions} expansions and {bound}. Token lengths (char-level tokens, completion only) over 500 training problems:").Line();
        Line(TraceLengths.ToMarkdown(rows));
    }

    /// <param name="room">What the uncapped budget allows on the held-out problems.</param>
    public void Sft(SftOptions traceSft, SftOptions optimalSft, LoadedPolicy trace, LoadedPolicy optimal, double traceAcc, double optimalAcc, int count, ThinkingRoom room)
    {
        var c = recipe.Model;
        Line("### SFT on search traces vs optimal paths, equal training tokens").Line();
        Line($"Both from scratch: hidden {c.HiddenSize}, {c.NumLayers} layers, {trace.Model.ParameterCount:N0} parameters, context {c.MaxPositions}, " +
             $"batch {recipe.BatchSize}, peak lr {recipe.Lr}, seed {recipe.Seed}. Held-out greedy accuracy on {count} test problems, {room.Describe()}:").Line();
        Line("| policy | task | steps | training tokens | held-out accuracy |").Line("|---|---|---|---|---|");
        Line($"| search traces | `{traceSft.Task}` | {traceSft.Steps} | {trace.State.TokensSeen:N0} | {traceAcc:P1} |");
        Line($"| optimal paths | `{optimalSft.Task}` | {optimalSft.Steps} | {optimal.State.TokensSeen:N0} | {optimalAcc:P1} |").Line();
        double gap = (traceAcc - optimalAcc) * 100;
        Line(gap > 0
            ? $"Search-trace SFT beats optimal-path SFT by {gap:F1} points at equal training tokens ({count} problems: one problem is {100.0 / count:F1} points)."
            : $"Search-trace SFT does not beat optimal-path SFT here ({gap:+0.0;-0.0} points at equal training tokens).").Line();
    }

    public void Budget(string png, IReadOnlyList<BudgetPoint> cap, IReadOnlyList<BudgetPoint> forced, IReadOnlyList<BudgetPoint> optimal,
        IReadOnlyList<ParallelPoint> traceParallel, IReadOnlyList<ParallelPoint> optimalParallel, ThinkingRoom room)
    {
        bool vote = optimalParallel.All(p => p.MajorityAtK is not null);   // not for countdown: its answers all name the target
        List<Series> series =
        [
            Seq("trace policy, thinking cap", cap), Seq("trace policy, cap + forcing", forced), Seq("optimal policy, thinking cap", optimal),
            Par("trace policy, k samples, verifier picks (pass@k)", traceParallel, p => p.PassAtK),
            Par("optimal policy, k samples, verifier picks (pass@k)", optimalParallel, p => p.PassAtK),
        ];
        if (vote) series.Add(Par("optimal policy, k samples, majority vote", optimalParallel, p => p.MajorityAtK!.Value));
        Plots.Lines(png, "Sequential (thinking budget) vs parallel (samples) scaling", "tokens written per problem", "held-out accuracy", series, logX: true);
        Line("### Thinking budget").Line();
        Line("Greedy decoding under a hard cap on thinking tokens (at the cap the controller closes the section and asks for the answer); " +
             "with forcing, an early close is replaced by the cue `wait` until the cap (at most 4 times). Parallel points: k samples at temperature 1, " +
             $"{room.Describe()}, x = k × mean tokens; pass@k is the chance that the verifier finds a correct answer among the k" +
             (vote ? "." : " (best of k with the verifier; no majority vote: countdown's answers all name the target, so a vote would only take the first sample that names it).")).Line();
        Line("| budget | trace: accuracy | trace: thinking tokens | trace: capped | trace + forcing: accuracy | forcing: thinking tokens | forcings | optimal: accuracy |")
            .Line("|---|---|---|---|---|---|---|---|");
        for (int i = 0; i < cap.Count; i++)
            Line($"| {cap[i].Budget} | {cap[i].Accuracy:P1} | {cap[i].MeanThinkingTokens:F1} | {cap[i].CappedFraction:P0} | {forced[i].Accuracy:P1} | " +
                 $"{forced[i].MeanThinkingTokens:F1} | {forced[i].MeanForcings:F2} | {optimal[i].Accuracy:P1} |");
        Line();
        Line($"| k | trace pass@k | trace tokens | optimal pass@k |{(vote ? " optimal maj@k |" : "")} optimal tokens |")
            .Line($"|---|---|---|---|{(vote ? "---|" : "")}---|");
        for (int i = 0; i < traceParallel.Count; i++)
            Line($"| {traceParallel[i].K} | {traceParallel[i].PassAtK:P1} | {traceParallel[i].MeanGeneratedTokens:F0} | {optimalParallel[i].PassAtK:P1} | " +
                 $"{(vote ? $"{optimalParallel[i].MajorityAtK:P1} | " : "")}{optimalParallel[i].MeanGeneratedTokens:F0} |");
        Line().Line($"![thinking budget]({Path.GetFileName(png)})").Line();
        Line(BudgetVerdict.Text(cap, forced)).Line();
    }

    public void Rl(string png, RlOptions rl, List<JsonObject> metrics, BehaviourStats before, BehaviourStats after, ThinkingRoom room)
    {
        var rows = metrics.Where(r => r.ContainsKey("reward")).ToList();
        double Get(JsonObject r, string key) => r[key]!.GetValue<double>();
        Plots.Lines(png, "GRPO on the trace policy", "rollout batch", "batch reward",
            [new Series("reward", rows.Select(r => Get(r, "step")).ToList(), rows.Select(r => Get(r, "reward")).ToList())],
            "response length (tokens)", [new Series("response length", rows.Select(r => Get(r, "step")).ToList(), rows.Select(r => Get(r, "response_length")).ToList())]);
        Line("### RL on the trace policy").Line();
        Line($"GRPO from the trace SFT policy with the verifier reward (answer part only): {rl.Steps} batches of {rl.PromptsPerStep} prompts × {rl.GroupSize} samples, " +
             $"lr {rl.Lr}, KL {rl.KlCoef} to the start policy, seed {rl.Seed}. Behaviour of greedy completions on the held-out problems, {room.Describe()}:").Line();
        Line("| | accuracy | thinking tokens | completion tokens | dead ends / completion | backtracks / solution | revised after a check | invalid lines / try | invalid backtracks | closed |")
            .Line("|---|---|---|---|---|---|---|---|---|---|");
        foreach (var (name, b) in new[] { ("before RL", before), ("after RL", after) })
            Line($"| {name} | {b.Accuracy:P1} | {b.MeanThinkingTokens:F1} | {b.MeanCompletionTokens:F1} | {b.DeadEndsPerCompletion:F2} | {b.BacktracksPerSolution:F2} | " +
                 $"{b.RevisedFraction:P0} | {b.InvalidLineRate:F3} | {b.InvalidBacktrackRate:P0} | {b.ClosedFraction:P0} |");
        if (rows.Count > 0)
            Line().Line($"Sampled response length moved from {Get(rows[0], "response_length"):F0} to {Get(rows[^1], "response_length"):F0} tokens over training; " +
                        $"batch reward from {Get(rows[0], "reward"):F2} to {Get(rows[^1], "reward"):F2}.");
        Line().Line($"![GRPO]({Path.GetFileName(png)})").Line();
    }

    public override string ToString() => _text.ToString();

    private ThinkingReport Line(string text = "")
    {
        _text.Append(text.AsSpan()).Append('\n');
        return this;
    }

    private static Series Seq(string name, IReadOnlyList<BudgetPoint> points) =>
        new(name, points.Select(p => p.MeanGeneratedTokens).ToList(), points.Select(p => p.Accuracy).ToList());

    private static Series Par(string name, IReadOnlyList<ParallelPoint> points, Func<ParallelPoint, double> y) =>
        new(name, points.Select(p => p.MeanGeneratedTokens).ToList(), points.Select(y).ToList());
}
