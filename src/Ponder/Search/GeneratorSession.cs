using Ponder.Policy;
using Ponder.Rewards;
using Ponder.Tasks;

namespace Ponder.Search;

/// <summary>
/// One search's view of a transformer policy. A node's handle is a row of a <see cref="DecodeState"/> that holds
/// the prompt and every token of the node's text; expanding forks those rows (KV copied, not recomputed) and
/// continues them one line at a time. Each token is charged to the meter once, at its position. The meter's
/// cancellation stops a call between decode steps.
/// </summary>
internal sealed class GeneratorSession : ISearchSession
{
    private static readonly IReadOnlyList<string> NewLine = ["\n"];
    private readonly Generator _generator;
    private readonly SearchLimits _limits;
    private readonly int[] _prompt;
    private readonly ComputeMeter _meter;
    private readonly List<DecodeState> _states = [];
    private StepNode? _root;

    public GeneratorSession(Generator generator, SearchLimits limits, int[] prompt, ComputeMeter meter)
    {
        (_generator, _limits, _prompt, _meter) = (generator, limits, prompt, meter);
    }

    /// <summary>A row of a cached state, with the tokens generated after the prompt so far.</summary>
    private sealed record Row(DecodeState State, int Index, int Generated);

    public StepNode Root => _root ??= MakeRoot();

    private StepNode MakeRoot()
    {
        _meter.Cancellation.ThrowIfCancellationRequested();
        var state = Track(_generator.Prefill([_prompt]));
        _meter.Prefill(0, _prompt.Length);
        return new StepNode("", [], 0, false, new Row(state, 0, 0));
    }

    /// <summary>Most solutions sampled in one batch: more are drawn in batches of this many (seeded apart), so the
    /// KV cache of a large N stays bounded and a cancellation is seen between batches.</summary>
    public const int MaxSampleBatch = 1024;

    public IReadOnlyList<StepNode> Sample(int n, double temperature, long seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(n);
        var nodes = new List<StepNode>(n);
        for (int batch = 0; nodes.Count < n; batch++)
        {
            _meter.Cancellation.ThrowIfCancellationRequested();
            int rows = Math.Min(MaxSampleBatch, n - nodes.Count);
            var options = new SamplingOptions
            {
                Temperature = temperature, MaxNewTokens = _limits.MaxNewTokens, Seed = batch == 0 ? seed : Seeds.Mix(seed, batch),
            };
            var generations = _generator.GenerateFromPrefix(_prompt, rows, options, _meter.Cancellation);
            _meter.Prefill(0, _prompt.Length);
            foreach (var g in generations)
            {
                _meter.Decode(_prompt.Length, Math.Max(0, g.Tokens.Length - 1)); // the last sampled token of a finished row is never run
                _meter.Generated(g.Tokens.Length);
            }
            nodes.AddRange(generations.Select(g => new StepNode(g.Text, Steps(g.Text), g.LogProbs.Sum(), true, null)));
        }
        return nodes;
    }

    public IReadOnlyList<IReadOnlyList<StepNode>> Expand(IReadOnlyList<StepNode> nodes, int perNode, double temperature, long seed)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(perNode);
        var options = new SamplingOptions { Temperature = temperature, Stop = NewLine, Seed = seed };
        var children = Continue(nodes, perNode, options, row => Math.Min(_limits.MaxStepTokens, Left(row)), out var generations);
        var result = new List<IReadOnlyList<StepNode>>(nodes.Count);
        for (int i = 0; i < nodes.Count; i++)
            result.Add(Enumerable.Range(i * perNode, perNode).Select(k => Child(nodes[i], children[k], generations[k], step: true)).ToList());
        return result;
    }

    public IReadOnlyList<StepNode> Finish(IReadOnlyList<StepNode> nodes, double temperature, long seed)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        var open = nodes.Where(n => !n.Finished).ToList();
        if (open.Count == 0) return nodes;
        var options = new SamplingOptions { Temperature = temperature, Seed = seed };
        var rows = Continue(open, 1, options, Left, out var generations);
        var finished = new Dictionary<StepNode, StepNode>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < open.Count; i++)
            finished[open[i]] = Child(open[i], rows[i], generations[i], step: false) with { Finished = true };
        return nodes.Select(n => n.Finished ? n : finished[n]).ToList();
    }

    // Tokens a row may still generate within MaxNewTokens (an open node's row has at least one).
    private int Left(Row row) => Math.Max(1, _limits.MaxNewTokens - row.Generated);

    /// <summary>
    /// Forks each node's row <paramref name="copies"/> times (grouped by the state they live in) and continues the
    /// forks, at most <paramref name="cap"/>(row) tokens each.
    /// </summary>
    private List<Row> Continue(IReadOnlyList<StepNode> nodes, int copies, SamplingOptions options, Func<Row, int> cap, out Generation[] generations)
    {
        var rows = new Row[nodes.Count * copies];
        generations = new Generation[rows.Length];
        var byState = Enumerable.Range(0, nodes.Count).GroupBy(i => RowOf(nodes[i]).State, ReferenceEqualityComparer.Instance);
        foreach (var group in byState)
        {
            var members = group.ToList();
            var parents = members.Select(i => RowOf(nodes[i])).ToList();
            var forked = Track(parents[0].State.Fork(parents.SelectMany(p => Enumerable.Repeat(p.Index, copies)).ToArray()));
            var before = forked.Lengths.ToArray();
            var caps = parents.SelectMany(p => Enumerable.Repeat(cap(p), copies)).ToArray();
            var outs = _generator.Continue(forked, options with { MaxNewTokens = caps.Max() }, _meter.Cancellation, caps);
            for (int j = 0; j < outs.Count; j++)
            {
                long fed = forked.Lengths[j] - before[j];                       // every sampled token is run: the state keeps it
                _meter.Decode(before[j], fed);
                _meter.Generated(outs[j].Tokens.Length);
                int slot = members[j / copies] * copies + j % copies;
                rows[slot] = new Row(forked, j, parents[j / copies].Generated + outs[j].Tokens.Length);
                generations[slot] = outs[j];
            }
        }
        return rows.ToList();
    }

    private StepNode Child(StepNode parent, Row row, Generation g, bool step)
    {
        // The text of the tokens the row's state holds (a stop string inside a token cuts g.Text short of them).
        string text = parent.Text + (g.FinishReason == FinishReason.Stop ? _generator.Tokenizer.Decode(g.Tokens) : g.Text);
        var steps = Steps(text);
        bool lastIsAnswer = steps.Count > 0 && StepText.IsFinal(steps[^1]);
        bool finished = g.FinishReason != FinishReason.Stop || lastIsAnswer || steps.Count >= _limits.MaxSteps
            || row.Generated >= _limits.MaxNewTokens || row.State.Lengths[row.Index] >= _generator.Model.Config.MaxPositions;
        return new StepNode(text, steps, step ? g.LogProbs.Sum() : parent.StepLogProb, finished, finished ? null : row) { StepTokens = g.Tokens };
    }

    // A node's steps as reward models read them: lines up to the final-answer line (a policy may write on past its
    // answer; the verifier ignores those lines), at most MaxSteps.
    private IReadOnlyList<string> Steps(string text) => StepText.Steps(text, _limits.MaxSteps);

    private static Row RowOf(StepNode node) =>
        node.Handle as Row ?? throw new ArgumentException("this node cannot be continued (finished, or made by another session)");

    private DecodeState Track(DecodeState state)
    {
        _states.Add(state);
        return state;
    }

    public void Dispose()
    {
        foreach (var s in _states) s.Dispose();
        _states.Clear();
    }
}
