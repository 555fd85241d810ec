using System.Globalization;
using System.Text;
using Ponder.Policy;
using Ponder.Tasks;

namespace Ponder.Thinking;

/// <summary>The token-length report of trace styles: how long each style's gold completions are, and how many problems each drops.</summary>
public static class TraceLengths
{
    public static IReadOnlyList<TraceLengthRow> Measure(ITask inner, TraceOptions options, IEnumerable<TraceStyle> styles,
        ITokenizer tokenizer, int count, int seed)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = inner.Problems(Split.Train, count, seed);
        var rows = new List<TraceLengthRow>();
        foreach (var style in styles)
        {
            var task = new ThinkingTask(inner, options with { Style = style });
            var strict = new ThinkingTask(inner, options with { Style = style, Fallback = TraceFallback.Drop });
            var kept = problems.Select(task.Trace).ToList();
            var traces = kept.OfType<SearchTrace>().ToList();
            // fell back: the strict search dropped it and the fallback kept it (a problem dropped both ways is only dropped)
            int fellBack = options.Fallback == TraceFallback.Optimal ? problems.Where((p, i) => kept[i] is not null && strict.Trace(p) is null).Count() : 0;
            var tokens = traces.Select(t => tokenizer.Encode(Solution.Join(ThinkingFormat.Wrap(t.Thinking, t.Answer))).Length + 1).ToList();
            rows.Add(new TraceLengthRow(style, problems.Count, problems.Count - traces.Count, fellBack,
                tokens.DefaultIfEmpty().Average(), tokens.DefaultIfEmpty().Max(),
                traces.Select(t => tokenizer.Encode(Solution.Join(t.Thinking)).Length).DefaultIfEmpty().Average(),
                traces.Select(t => t.Expansions).DefaultIfEmpty().Average(), traces.Select(t => t.DeadEnds).DefaultIfEmpty().Average(),
                traces.Select(t => t.Backtracks).DefaultIfEmpty().Average()));
        }
        return rows;
    }

    public static string ToMarkdown(IReadOnlyList<TraceLengthRow> rows)
    {
        var text = new StringBuilder("| style | problems | dropped | fell back | mean tokens | max tokens | mean thinking tokens | expansions | dead ends | backtracks |\n|---|---|---|---|---|---|---|---|---|---|\n");
        foreach (var r in rows)
            text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {ThinkingTaskSpec.StyleName(r.Style)} | {r.Problems} | {r.Dropped} | {r.FellBack} | {r.MeanTokens:F1} | {r.MaxTokens} | {r.MeanThinkingTokens:F1} | {r.MeanExpansions:F1} | {r.MeanDeadEnds:F1} | {r.MeanBacktracks:F1} |"));
        return text.ToString();
    }
}
