using Ponder.Policy;

namespace Ponder.Thinking;

/// <summary>
/// Generation with a thinking budget, on top of <see cref="Generator"/>'s Prefill / Continue / Append / Fork with the close
/// marker as a stop string. Every row starts from prompt + <c>&lt;think&gt;\n</c> and thinks in rounds:
/// <list type="bullet">
/// <item>a round decodes at most the smallest remaining budget of its rows (less one token kept for a newline), stopping at <c>&lt;/think&gt;</c>;</item>
/// <item>a row that closed on its own goes on to its answer from the same state;</item>
/// <item>a row at the cap gets <c>&lt;/think&gt;\n</c> appended (after a newline if it stopped mid-line) and then answers;</item>
/// <item>a row that closed (or ended) before <see cref="ThinkingBudget.MinThinkingTokens"/> is forced: the close is dropped and the
/// cue appended. Its cache already holds the close marker, so it is prefilled again from its token ids (counted as prefill);</item>
/// <item>rows with budget left continue in a fork of the state.</item>
/// </list>
/// The generator itself is unchanged; this class only drives it.
/// </summary>
public sealed class BudgetedThinker(Generator generator)
{
    private readonly Generator _generator = generator ?? throw new ArgumentNullException(nameof(generator));

    public Generator Generator => _generator;

    public IReadOnlyList<ThoughtGeneration> Generate(IReadOnlyList<string> prompts, ThinkingBudget budget, SamplingOptions sampling)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(budget);
        ArgumentNullException.ThrowIfNull(sampling);
        budget.Validate();
        sampling.Validate();
        var tokenizer = _generator.Tokenizer;
        int[] open = tokenizer.Encode(ThinkingFormat.Open + "\n"), close = tokenizer.Encode(ThinkingFormat.Close + "\n"),
            newline = tokenizer.Encode("\n"), cue = tokenizer.Encode(budget.Cue);
        int context = _generator.Model.Config.MaxPositions;
        var rows = prompts.Select(p =>
        {
            int[] prefix = [.. Prompting.Encode(tokenizer, p), .. open];
            return new Row(prefix, Cap(context, prefix.Length, close.Length + newline.Length, budget));
        }).ToArray();
        if (rows.Length == 0) return [];

        var work = new Queue<(DecodeState State, int[] Members)>();
        work.Enqueue((_generator.Prefill(rows.Select(r => r.Prefix).ToList()), Enumerable.Range(0, rows.Length).ToArray()));
        int round = 0;
        while (work.Count > 0)
        {
            var (state, members) = work.Dequeue();
            using (state)
            {
                // Rows with different budgets left go in groups of their own: a row cut before its own cap would resume in a
                // new call, whose stop-string check would miss a close marker spanning the cut.
                var left = members.Select(m => rows[m].Cap - newline.Length - rows[m].Thinking.Count).ToArray();
                if (left.Distinct().Count() > 1)
                {
                    foreach (var group in Enumerable.Range(0, members.Length).GroupBy(j => left[j]).OrderBy(g => g.Key))
                        work.Enqueue((state.Fork([.. group]), group.Select(j => members[j]).ToArray()));
                    continue;
                }
                int steps = left[0];
                var gens = steps > 0
                    ? _generator.Continue(state, sampling with { Stop = [ThinkingFormat.Close], MaxNewTokens = steps, Seed = Seeds.Mix(sampling.Seed, round++) })
                    : null;
                var appended = new int[members.Length][];
                List<int> answer = [], forced = [];
                for (int j = 0; j < members.Length; j++)
                {
                    var row = rows[members[j]];
                    appended[j] = [];
                    var g = gens?[j];
                    if (g is { FinishReason: FinishReason.Stop or FinishReason.Eos })
                    {
                        int drop = g.FinishReason == FinishReason.Eos ? 1 : MarkerTokens(tokenizer, g.Tokens);
                        row.Thinking.AddRange(g.Tokens[..^drop]);
                        int lineEnd = EndsLine(tokenizer, row.Thinking) ? 0 : newline.Length;   // the cue starts a line of its own
                        if (budget.MinThinkingTokens > 0 && row.Thinking.Count < budget.MinThinkingTokens && row.Forcings < budget.MaxForcings
                            && row.Thinking.Count + lineEnd + cue.Length <= row.Cap - newline.Length)
                            forced.Add(j);
                        else if (g.FinishReason == FinishReason.Stop)
                        {
                            row.Closed = true;
                            row.Tail.AddRange(g.Tokens[^drop..]);
                            answer.Add(j);
                        }
                        // else: it ended without closing the section, so it has no answer
                        continue;
                    }
                    if (g is not null) row.Thinking.AddRange(g.Tokens);                // ran to the budget it had left: at its cap
                    bool midLine = !EndsLine(tokenizer, row.Thinking);
                    if (midLine) row.Thinking.AddRange(newline);
                    appended[j] = midLine ? [.. newline, .. close] : close;
                    row.Tail.AddRange(close);
                    (row.Capped, row.Closed) = (true, true);
                    answer.Add(j);
                }
                if (appended.Any(a => a.Length > 0)) _generator.Append(state, appended);
                if (answer.Count > 0)
                {
                    using var answering = state.Fork([.. answer]);
                    var answers = _generator.Continue(answering, sampling with { Stop = [], MaxNewTokens = budget.MaxAnswerTokens, Seed = Seeds.Mix(sampling.Seed, round++) });
                    for (int k = 0; k < answer.Count; k++)
                    {
                        var row = rows[members[answer[k]]];
                        row.Tail.AddRange(answers[k].Tokens);
                        row.AnswerTokens = answers[k].Tokens.Length;
                    }
                }
                if (forced.Count > 0)
                {
                    foreach (int j in forced)
                    {
                        if (!EndsLine(tokenizer, rows[members[j]].Thinking)) rows[members[j]].Thinking.AddRange(newline);
                        rows[members[j]].Thinking.AddRange(cue);
                        rows[members[j]].Forcings++;
                    }
                    work.Enqueue((_generator.Prefill(forced.Select(j => rows[members[j]].Context()).ToList()), forced.Select(j => members[j]).ToArray()));
                }
            }
        }
        return rows.Select(r => new ThoughtGeneration(
            tokenizer.Decode([.. open, .. r.Thinking, .. r.Tail]), r.Thinking.Count, r.AnswerTokens, r.Forcings, r.Capped, r.Closed)).ToArray();
    }

    /// <summary>
    /// The most thinking tokens a row of <paramref name="prompt"/> gets in a context of <paramref name="context"/> positions:
    /// the budget's cap, or less where the context has less room after the prompt, <c>&lt;think&gt;\n</c>, a newline,
    /// <c>&lt;/think&gt;\n</c> and <see cref="ThinkingBudget.MaxAnswerTokens"/>.
    /// </summary>
    public static int Cap(ITokenizer tokenizer, int context, string prompt, ThinkingBudget budget)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(budget);
        int prefix = Prompting.Encode(tokenizer, prompt).Length + tokenizer.Encode(ThinkingFormat.Open + "\n").Length;
        return Cap(context, prefix, tokenizer.Encode(ThinkingFormat.Close + "\n").Length + tokenizer.Encode("\n").Length, budget);
    }

    private static int Cap(int context, int prefix, int closing, ThinkingBudget budget) =>
        Math.Max(0, Math.Min(budget.MaxThinkingTokens, context - prefix - closing - budget.MaxAnswerTokens));

    // Whether thinking so far ends a line (or is empty): what the cue and a forced close need before them.
    private static bool EndsLine(ITokenizer tokenizer, List<int> thinking) =>
        thinking.Count == 0 || tokenizer.Decode(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(thinking)[^1..]).EndsWith('\n');

    /// <summary>How many trailing tokens spell the close marker (the fewest whose text contains it).</summary>
    private static int MarkerTokens(ITokenizer tokenizer, int[] tokens)
    {
        for (int k = 1; k <= tokens.Length; k++)
            if (tokenizer.Decode(tokens.AsSpan()[^k..]).Contains(ThinkingFormat.Close, StringComparison.Ordinal)) return k;
        return 0;
    }

    private sealed class Row(int[] prefix, int cap)
    {
        public int[] Prefix { get; } = prefix;
        public int Cap { get; } = cap;
        public List<int> Thinking { get; } = [];
        public List<int> Tail { get; } = [];
        public int Forcings { get; set; }
        public int AnswerTokens { get; set; }
        public bool Capped { get; set; }
        public bool Closed { get; set; }

        public int[] Context() => [.. Prefix, .. Thinking];
    }
}
