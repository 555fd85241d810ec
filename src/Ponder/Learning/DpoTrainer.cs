// Direct preference optimization (Rafailov et al. 2023) on verifier-labelled pairs:
//   L = −log σ(β · [(log π(y_w|x) − log π_ref(y_w|x)) − (log π(y_l|x) − log π_ref(y_l|x))])  (+ α · NLL(y_w), RPO)
// (or IPO's squared loss, or SLiC's hinge, on the same margin: DpoLoss); DPOP lowers the margin by λ times how far the
// chosen side's log-likelihood fell below the reference's.
// where π_ref is the frozen start policy and log π sums the scored tokens' log-probabilities. Pairs are drawn online
// from the current policy each step (on-policy DPO), either
//   - outcome pairs: x the problem, y_w a correct and y_l an incorrect sampled solution (one pair per problem that has
//     both), or
//   - file pairs: a preference file's (prompt, chosen, rejected) lines, offline as TRL's DPO trains on a dataset, or
//   - step pairs (Step-DPO, Lai et al. 2024; step-level pairs from MCTS trees as in Xie et al. 2024): x the problem and a
//     partial solution, y_w and y_l two next steps the policy proposed there, valued by the tree's verifier-scored
//     rollouts (the fraction of simulations through each that ended correct), one pair per expanded node whose best
//     and worst steps differ by at least the minimum gap.
using System.Globalization;
using System.Text.Json.Nodes;
using Ponder.Policy;
using Ponder.Scaling;
using Ponder.Search;
using Ponder.Tasks;
using static TorchSharp.torch;

namespace Ponder.Learning;

/// <param name="taskOverride">A task object to use instead of the registry's (tests use toy tasks).</param>
public sealed class DpoTrainer(DpoOptions options, Device device, ITask? taskOverride = null)
{
    /// <summary>A preference pair: <see cref="Context"/> (tokens of a partial solution after the prompt; empty for whole solutions) continued by the preferred and the rejected tokens.</summary>
    internal sealed record Pair(Problem Problem, int[] Context, int[] Chosen, int[] Rejected, string ContextText, string ChosenText, string RejectedText);

    /// <summary>
    /// The file in the output folder where a run with outcome or step pairs writes each step's pairs, one JSON object a
    /// line (step, prompt, chosen, rejected): a preference file that <see cref="DpoPairs.File"/> reads.
    /// </summary>
    public const string PairsFileName = "pairs.jsonl";

    /// <summary>Refuses settings that cannot train, before anything is loaded.</summary>
    public static void Validate(DpoOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        if (o.Beta <= 0) throw new ArgumentException($"DPO needs a positive beta (it scales the log-ratios; at 0 the loss is constant), got {o.Beta}");
        if (o.Steps < 1 || o.ProblemsPerStep < 1) throw new ArgumentException($"DPO needs at least one step and one problem a step, got {o.Steps} and {o.ProblemsPerStep}");
        if (o.Pairs == DpoPairs.Outcome && o.SamplesPerProblem < 2)
            throw new ArgumentException($"outcome pairs need at least 2 samples a problem (a right and a wrong one), got {o.SamplesPerProblem}");
        if (o.Pairs == DpoPairs.Step && (o.Simulations < 2 || o.Expansions < 2))
            throw new ArgumentException($"step pairs need at least 2 simulations and 2 expansions a node (siblings to compare), got {o.Simulations} and {o.Expansions}");
        if (o.Pairs == DpoPairs.Step && o.MinGap is <= 0 or > 1)
            throw new ArgumentException($"step pairs need a minimum value gap in (0, 1], got {o.MinGap}");
        if (o.DpopLambda < 0) throw new ArgumentException($"the DPOP weight must be 0 or more, got {o.DpopLambda}");
        if (o.DpopLambda > 0 && o.Loss == DpoLoss.Ipo)
            throw new ArgumentException("DPOP lowers the margin of the sigmoid and hinge losses; IPO's margin is of mean token log-probabilities");
        if (o.RpoAlpha < 0) throw new ArgumentException($"the RPO weight must be 0 or more, got {o.RpoAlpha}");
        if (o.CheckpointEvery < 0) throw new ArgumentException($"checkpoint interval must be 0 or more, got {o.CheckpointEvery}");
        if ((o.Pairs == DpoPairs.File) != (o.PairsFile is not null))
            throw new ArgumentException(o.PairsFile is null ? "file pairs need a preference file" : $"a preference file ('{o.PairsFile}') is read only with file pairs, not {Name(o.Pairs)} pairs");
    }

    /// <summary>Trains; returns whether a stop asked for through <paramref name="cancel"/> ended the run before its last step (a checkpoint saved).</summary>
    public bool Run(IProgress<TrainProgress>? progress = null, CancellationToken cancel = default)
    {
        var o = options;
        Validate(o);
        var file = o.PairsFile is null ? null : PreferencePair.ReadFile(o.PairsFile);
        var fileHash = o.PairsFile is null ? null : Sha256(o.PairsFile);          // of the file as read, once: every checkpoint records it
        var saved = o.Resume ? Resumption.Require(o.Out, "dpo") : null;
        if (saved?.Extra?.GetValueOrDefault("pairs_file_sha256") is { } hash && fileHash is not null && fileHash != hash)
            throw new InvalidDataException($"{o.PairsFile}: the preference file has changed since the run in '{o.Out}' started; a resumed run draws the pairs it started with");
        if (saved?.Extra?.GetValueOrDefault("pairs") is { } pairsOfRun && pairsOfRun != Name(o.Pairs))
            throw new InvalidDataException($"checkpoint '{o.Out}': it is a DPO run on {pairsOfRun} pairs; resume it with --pairs {pairsOfRun}");
        string init = saved is null ? o.Policy
            : saved.Extra?.GetValueOrDefault("init") ?? throw new InvalidDataException($"checkpoint '{o.Out}': ponder.json does not name the start policy ('init')");
        var policy = LoadedPolicy.Load(o.Resume ? o.Out : o.Policy, device);
        var reference = LoadedPolicy.Load(init, device);
        if (policy.Tokenizer.ToJson() != reference.Tokenizer.ToJson())
            throw new InvalidDataException($"checkpoint '{o.Out}': its tokenizer differs from the start policy '{init}'");
        var task = taskOverride ?? TaskRegistry.Create(o.Task ?? saved?.Task ?? reference.State.Task);
        var (model, tokenizer) = (policy.Model, policy.Tokenizer);
        model.TrainingKernels = o.TrainingKernels;
        using var optimizer = SupervisedStep.Optimizer(model, weightDecay: 0);
        long startStep = 0;
        if (saved is not null)
        {
            startStep = saved.Step;
            var state = Checkpoint.ReadOptimizerState(o.Out) ?? throw new InvalidDataException($"checkpoint '{o.Out}': no {Checkpoint.OptimizerFile} to resume from");
            optimizer.Load(state, Path.Combine(o.Out, Checkpoint.OptimizerFile));
        }
        var filePairs = file is null ? null : Encode(file, tokenizer, model.Config.MaxPositions);
        var generator = new Policy.Generator(model, tokenizer);
        var evalProblems = task.Problems(Split.Test, o.EvalCount, SftTrainer.EvalSeed);
        int maxNew = Evaluator.MaxNewTokens(tokenizer, task, task.Problems(Split.Train, 64, o.Seed), model.Config.MaxPositions);
        using var metrics = new MetricsLog(Path.Combine(o.Out, "metrics.jsonl"), o.Resume ? startStep : null);
        // The pairs drawn online, as a preference file (--pairs-file reads it back): shared, inspected, trained on again.
        using var pairLog = o.Pairs == DpoPairs.File ? null : new MetricsLog(Path.Combine(o.Out, PairsFileName), o.Resume ? startStep : null);
        if (!o.Resume) metrics.Write(new JsonObject { ["step"] = 0, ["eval_greedy"] = Evaluator.GreedyAccuracy(model, tokenizer, task, evalProblems) });

        for (var step = (int)startStep + 1; step <= o.Steps; step++)
        {
            // 1. Pairs: from the current policy, labelled by the verifier, or the file's next ones.
            IReadOnlyList<Problem> Problems() => task.Problems(Split.Train, o.ProblemsPerStep, Seeds.Mix(o.Seed, step));
            model.eval();
            var row = new JsonObject { ["step"] = step };
            var pairs = o.Pairs switch
            {
                DpoPairs.Outcome => OutcomePairs(Problems(), task, tokenizer, generator, maxNew, step, row),
                DpoPairs.Step => StepPairs(Problems(), task, tokenizer, generator, maxNew, step, row),
                _ => FilePairs(filePairs!, step),
            };
            row["pairs"] = pairs.Count;
            if (pairLog is not null) Log(pairLog, pairs, tokenizer, step, row);

            // 2. The DPO loss on them.
            float? loss = null;
            if (pairs.Count > 0)
            {
                model.train();
                using var scope = NewDisposeScope();
                int n = pairs.Count;
                var rows = pairs.Select(p => (p.Problem, p.Context, Tokens: p.Chosen, Text: p.ContextText + p.ChosenText))
                    .Concat(pairs.Select(p => (p.Problem, p.Context, Tokens: p.Rejected, Text: p.ContextText + p.RejectedText))).ToList();
                using var batch = RolloutBatch.Build(tokenizer, rows.Select(r => r.Problem).ToList(), rows.Select(r => (int[])[.. r.Context, .. r.Tokens]).ToList(),
                    rows.Select(r => r.Text).ToList(), device, rows.Select(r => r.Context.Length).ToList());
                Tensor refSums;
                using (no_grad()) refSums = (batch.Score(reference.Model, entropy: false).LogProbs * batch.Mask).sum(1);   // (2n)
                var tokenLogProbs = batch.Score(model, entropy: false).LogProbs * batch.Mask;                               // (2n, T)
                var sums = tokenLogProbs.sum(1);                                                                            // (2n)
                var margin = Margins(sums, refSums, n, o.DpopLambda);                                                      // (n)
                var lossTensor = o.Loss switch
                {
                    DpoLoss.Sigmoid => -nn.functional.logsigmoid(o.Beta * margin).mean(),
                    DpoLoss.Hinge => nn.functional.relu(1 - o.Beta * margin).mean(),
                    _ => IpoLoss(sums, refSums, batch.Mask.sum(1).clamp_min(1), n, o.Beta),
                };
                var nll = -tokenLogProbs[..n].sum() / batch.Mask[..n].sum().clamp_min(1);   // the chosen completions' mean token NLL
                if (o.RpoAlpha > 0) lossTensor = lossTensor + o.RpoAlpha * nll;                // RPO: it keeps their likelihood up
                lossTensor.backward();
                nn.utils.clip_grad_norm_(model.parameters(), o.GradClip);
                optimizer.Update(o.Lr);
                optimizer.ZeroGrad();
                loss = lossTensor.item<float>();
                row["loss"] = Math.Round(loss.Value, 5);
                row["chosen_nll"] = Math.Round(nll.item<float>(), 5);
                row["margin"] = Math.Round(margin.mean().item<float>(), 4);
                row["pair_accuracy"] = Math.Round(margin.gt(0).to(ScalarType.Float32).mean().item<float>(), 4);
                // TRL's rewards/chosen and rewards/rejected: β times the mean log-ratio to the reference of each side.
                using (no_grad())
                {
                    var ratio = sums - refSums;                                                                             // (2n)
                    row["chosen_reward"] = Math.Round(o.Beta * ratio[..n].mean().item<float>(), 5);
                    row["rejected_reward"] = Math.Round(o.Beta * ratio[n..].mean().item<float>(), 5);
                }
            }
            metrics.Write(row);
            progress?.Report(new TrainProgress(step, o.Steps, loss ?? 0, 0));
            if ((o.EvalEvery > 0 && step % o.EvalEvery == 0) || step == o.Steps)
            {
                double acc = Evaluator.GreedyAccuracy(model, tokenizer, task, evalProblems);
                metrics.Write(new JsonObject { ["step"] = step, ["eval_greedy"] = acc });
                progress?.Report(new TrainProgress(step, o.Steps, loss ?? 0, 0, $"step {step}: held-out greedy {acc:P1}, {pairs.Count} pairs"));
            }
            bool stop = cancel.IsCancellationRequested;                 // read once: a stop asked for is always saved
            if ((o.CheckpointEvery > 0 && step % o.CheckpointEvery == 0) || step == o.Steps || stop)
                Save(model, tokenizer, task, optimizer, init, step, fileHash);
            if (stop) return step < o.Steps;
        }
        return false;
    }

    // One pair per problem with both a verified-correct and an incorrect sample among its samples.
    private List<Pair> OutcomePairs(IReadOnlyList<Problem> problems, ITask task, ITokenizer tokenizer, Policy.Generator generator, int maxNew, int step, JsonObject row)
    {
        var o = options;
        var rows = problems.SelectMany(p => Enumerable.Repeat(p, o.SamplesPerProblem)).ToList();
        var gens = generator.Generate(rows.Select(p => Prompting.Encode(tokenizer, p.Prompt)).ToList(),
            new SamplingOptions { Temperature = o.Temperature, MaxNewTokens = maxNew, Seed = Seeds.Mix(o.Seed + 7919, step) });
        var correct = gens.Select((g, i) => task.Check(rows[i], g.Text).Correct).ToArray();
        var pairs = new List<Pair>();
        for (int i = 0; i < problems.Count; i++)
        {
            var group = Enumerable.Range(i * o.SamplesPerProblem, o.SamplesPerProblem).ToList();
            int right = group.FirstOrDefault(j => correct[j], -1), wrong = group.FirstOrDefault(j => !correct[j], -1);
            if (right < 0 || wrong < 0) continue;
            pairs.Add(new Pair(problems[i], [], gens[right].Tokens, gens[wrong].Tokens, "", gens[right].Text, gens[wrong].Text));
        }
        row["sample_accuracy"] = Math.Round(correct.Count(c => c) / (double)rows.Count, 4);
        row["policy_tokens"] = gens.Sum(g => (long)g.Tokens.Length);
        return pairs;
    }

    // For each problem an MCTS tree grown by the current policy, its leaves valued by rollouts the verifier scores; a
    // pair from each expanded node whose best and worst next steps (by mean value) differ by at least MinGap.
    private List<Pair> StepPairs(IReadOnlyList<Problem> problems, ITask task, ITokenizer tokenizer, Policy.Generator generator, int maxNew, int step, JsonObject row)
    {
        var o = options;
        var search = new VerifiedTreeSearch(generator, task, maxNew, o.Expansions, o.Temperature);
        var pairs = new List<Pair>();
        var (solved, branches, tokens) = (0, 0, 0L);
        for (int i = 0; i < problems.Count; i++)
        {
            var explored = search.Explore(problems[i], o.Simulations, Seeds.Mix(o.Seed + 7919, (long)step * o.ProblemsPerStep + i));
            if (explored.Result.Candidates.Any(c => task.Check(problems[i], c.Completion).Correct)) solved++;
            branches += explored.Branches.Count;
            tokens += explored.Result.Compute.GeneratedTokens;
            pairs.AddRange(BranchPairs(problems[i], explored.Branches, tokenizer, o.MinGap));
        }
        row["tree_solved"] = Math.Round(solved / (double)problems.Count, 4);
        row["branches"] = branches;
        row["policy_tokens"] = tokens;
        return pairs;
    }

    /// <summary>
    /// The step pairs of a tree's branches: at each, of the steps the search visited, the one of highest mean value
    /// against the one of lowest, when they differ by at least <paramref name="minGap"/>; context and steps as the
    /// policy sampled them (EOS included where a step ended there), or encoded from their text where the search kept no ids.
    /// </summary>
    internal static IEnumerable<Pair> BranchPairs(Problem problem, IReadOnlyList<TreeBranch> branches, ITokenizer tokenizer, double minGap)
    {
        foreach (var branch in branches)
        {
            var visited = branch.Children.Where(c => c.Visits > 0).ToList();     // an unvisited step has no value yet
            if (visited.Count < 2) continue;
            var best = visited.MaxBy(c => (c.Mean, c.Visits));
            var worst = visited.MinBy(c => (c.Mean, -c.Visits));
            if (best.Mean - worst.Mean < minGap) continue;
            yield return new Pair(problem, [.. branch.PrefixTokens ?? tokenizer.Encode(branch.Prefix)], [.. best.Tokens ?? tokenizer.Encode(best.Step)],
                [.. worst.Tokens ?? tokenizer.Encode(worst.Step)], branch.Prefix, best.Step, worst.Step);
        }
    }

    // A preference file's pairs as token ids (a whole completion ended by EOS, as a policy that stopped ends it); a pair
    // longer than the model's context is refused before training, naming its line.
    internal static List<Pair> Encode(IReadOnlyList<PreferencePair> file, ITokenizer tokenizer, int maxPositions)
    {
        var pairs = new List<Pair>(file.Count);
        foreach (var (p, i) in file.Select((p, i) => (p, i)))
        {
            var problem = new Problem($"pair-{i}", p.Prompt, "");
            int[] Tokens(string field, Func<int[]> encode)
            {
                try
                {
                    return encode();
                }
                catch (ArgumentException e)
                {
                    throw new InvalidDataException($"{p.Where}: its {field} cannot be encoded by this model's tokenizer ({e.Message})", e);
                }
            }
            int prompt = Tokens("prompt", () => Prompting.Encode(tokenizer, p.Prompt)).Length;
            int[] chosen = [.. Tokens("chosen", () => tokenizer.Encode(p.Chosen)), .. p.ChosenComplete ? [tokenizer.Eos] : Array.Empty<int>()];
            int[] rejected = [.. Tokens("rejected", () => tokenizer.Encode(p.Rejected)), .. p.RejectedComplete ? [tokenizer.Eos] : Array.Empty<int>()];
            var longest = prompt + Math.Max(chosen.Length, rejected.Length);
            if (longest > maxPositions)
                throw new InvalidDataException($"{p.Where}: the prompt and its longer completion are {longest} tokens, more than the model's {maxPositions} positions");
            pairs.Add(new Pair(problem, [], chosen, rejected, "", p.Chosen, p.Rejected));
        }
        return pairs;
    }

    // Step `step`'s ProblemsPerStep pairs of the file: passes over it one after another, each in its own seeded order.
    private List<Pair> FilePairs(List<Pair> all, int step)
    {
        var o = options;
        var drawn = new List<Pair>(o.ProblemsPerStep);
        for (long k = (long)(step - 1) * o.ProblemsPerStep; drawn.Count < o.ProblemsPerStep; k++)
        {
            var pass = (int)(k / all.Count);
            if (_order is null || _orderPass != pass)
            {
                _order = Enumerable.Range(0, all.Count).ToArray();
                new Random(Seeds.Mix(o.Seed, 1_000_003 + pass)).Shuffle(_order);
                _orderPass = pass;
            }
            drawn.Add(all[_order[(int)(k % all.Count)]]);
        }
        return drawn;
    }

    private int[]? _order;
    private int _orderPass = -1;

    private void Save(Transformer model, ITokenizer tokenizer, ITask task, AdamW optimizer, string init, long step, string? pairsFileHash)
    {
        var o = options;
        var extra = new Dictionary<string, string>
        {
            ["init"] = init,
            ["trainer"] = "dpo",
            ["pairs"] = Name(o.Pairs),
            ["beta"] = o.Beta.ToString("R", CultureInfo.InvariantCulture),
            ["lr"] = o.Lr.ToString("R", CultureInfo.InvariantCulture),
            ["problems"] = o.ProblemsPerStep.ToString(CultureInfo.InvariantCulture),
            ["samples"] = o.SamplesPerProblem.ToString(CultureInfo.InvariantCulture),
            ["simulations"] = o.Simulations.ToString(CultureInfo.InvariantCulture),
            ["expansions"] = o.Expansions.ToString(CultureInfo.InvariantCulture),
            ["min_gap"] = o.MinGap.ToString("R", CultureInfo.InvariantCulture),
            ["temperature"] = o.Temperature.ToString("R", CultureInfo.InvariantCulture),
            ["rpo_alpha"] = o.RpoAlpha.ToString("R", CultureInfo.InvariantCulture),
            ["loss"] = o.Loss.ToString().ToLowerInvariant(),
            ["dpop_lambda"] = o.DpopLambda.ToString("R", CultureInfo.InvariantCulture),
            ["total_steps"] = o.Steps.ToString(CultureInfo.InvariantCulture),
        };
        if (o.PairsFile is not null) (extra["pairs_file"], extra["pairs_file_sha256"]) = (Path.GetFullPath(o.PairsFile), pairsFileHash!);
        Checkpoint.Save(o.Out, model.Config, model, tokenizer,
            new CheckpointState { Task = task.Name, Step = step, Seed = o.Seed, Kind = "policy", Extra = extra, HasOptimizerState = true }, optimizer.State());
    }

    private static string Name(DpoPairs pairs) => pairs.ToString().ToLowerInvariant();

    /// <summary>
    /// Each pair's margin from the rows' summed log-probabilities under the policy and the reference (the n chosen rows,
    /// then the n rejected): (log π(y_w) − log π_ref(y_w)) − (log π(y_l) − log π_ref(y_l)), less DPOP's
    /// λ · max(0, log π_ref(y_w) − log π(y_w)) when λ > 0.
    /// </summary>
    internal static Tensor Margins(Tensor sums, Tensor refSums, int n, double dpopLambda)
    {
        var margin = (sums[..n] - refSums[..n]) - (sums[n..] - refSums[n..]);                                         // (n)
        return dpopLambda > 0 ? margin - dpopLambda * nn.functional.relu(refSums[..n] - sums[..n]) : margin;
    }

    // IPO: (m − 1/(2β))² on the margin of mean token log-probabilities (the rows' sums over their token counts).
    private static Tensor IpoLoss(Tensor sums, Tensor refSums, Tensor tokens, int n, double beta)
    {
        var ratio = (sums - refSums) / tokens;                                                                         // (2n)
        return (ratio[..n] - ratio[n..] - 1 / (2 * beta)).square().mean();
    }

    private static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(stream));
    }

    // A step's pairs to the run's preference file, each side marked incomplete unless its tokens end in EOS; a pair
    // whose text would not encode back to the ids it was trained on (a sampled special token the text cannot show) is
    // left out, and counted.
    private static void Log(MetricsLog log, IReadOnlyList<Pair> pairs, ITokenizer tokenizer, int step, JsonObject row)
    {
        var left = 0;
        foreach (var pair in pairs)
        {
            bool chosenEnds = pair.Chosen is [.., var c] && tokenizer.EndIds.Contains(c), rejectedEnds = pair.Rejected is [.., var r] && tokenizer.EndIds.Contains(r);
            if (!tokenizer.Encode(pair.ChosenText).AsSpan().SequenceEqual(pair.Chosen.AsSpan(0, pair.Chosen.Length - (chosenEnds ? 1 : 0)))
                || !tokenizer.Encode(pair.RejectedText).AsSpan().SequenceEqual(pair.Rejected.AsSpan(0, pair.Rejected.Length - (rejectedEnds ? 1 : 0))))
            {
                left++;
                continue;
            }
            var line = new JsonObject { ["step"] = step, ["prompt"] = pair.Problem.Prompt + pair.ContextText, ["chosen"] = pair.ChosenText, ["rejected"] = pair.RejectedText };
            if (!chosenEnds) line["chosen_complete"] = false;
            if (!rejectedEnds) line["rejected_complete"] = false;
            log.Write(line);
        }
        if (left > 0) row["pairs_not_written"] = left;
    }
}
