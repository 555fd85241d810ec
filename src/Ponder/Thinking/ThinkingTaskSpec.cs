using Ponder.Tasks;

namespace Ponder.Thinking;

/// <summary>
/// The registry hook for <c>think:</c> specs: <c>think:INNER[:inner options][,style=dfs|bfs|best|heuristic|optimal][,expansions=N][,fallback=drop|optimal][,maxlen=CHARS][,path=0|1|back]</c>,
/// e.g. <c>think:countdown:numbers=3,style=dfs</c> or <c>think:arith,style=optimal</c>. The think options are taken out and
/// the rest is the inner task's spec.
/// </summary>
public static class ThinkingTaskSpec
{
    public const string Prefix = "think:";

    private static readonly string[] Keys = ["style", "expansions", "fallback", "maxlen", "path"];

    /// <summary>The spec name of a style: optimal, dfs, bfs, best, heuristic.</summary>
    public static string StyleName(TraceStyle style) => style switch
    {
        TraceStyle.OptimalOnly => "optimal",
        TraceStyle.Dfs => "dfs",
        TraceStyle.Bfs => "bfs",
        TraceStyle.BestFirst => "best",
        TraceStyle.Heuristic => "heuristic",
        _ => throw new ArgumentOutOfRangeException(nameof(style), style, null),
    };

    public static TraceStyle ParseStyle(string name) => name switch
    {
        "optimal" => TraceStyle.OptimalOnly,
        "dfs" => TraceStyle.Dfs,
        "bfs" => TraceStyle.Bfs,
        "best" => TraceStyle.BestFirst,
        "heuristic" => TraceStyle.Heuristic,
        _ => throw new ArgumentException($"task 'think': option 'style' must be one of optimal, dfs, bfs, best, heuristic, got '{name}'"),
    };

    /// <summary>True for a spec that starts with <c>think:</c>.</summary>
    public static bool Matches(string spec) => spec.TrimStart().StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>Builds the task; <see cref="ArgumentException"/> with a one-line message for a bad option or inner spec.</summary>
    public static ThinkingTask Create(string spec, Func<string, ITask> createInner)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(createInner);
        string rest = spec.TrimStart()[Prefix.Length..].Trim();
        int cut = rest.IndexOfAny([':', ',']);
        string innerName = cut < 0 ? rest : rest[..cut];
        if (innerName.Length == 0) throw new ArgumentException($"task 'think': no inner task in '{spec}' (expected think:countdown,style=dfs)");
        var innerOptions = new List<string>();
        var options = new TraceOptions();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (string entry in cut < 0 ? [] : rest[(cut + 1)..].Split(','))
        {
            int eq = entry.IndexOf('=');
            string key = (eq < 0 ? entry : entry[..eq]).Trim();
            string value = eq < 0 ? "" : entry[(eq + 1)..].Trim();
            // jsonl's own 'path' (its file) is the inner task's: the traces' 'path' marks countdown's moves only.
            if (!Keys.Contains(key) || (key == "path" && innerName == "jsonl")) { innerOptions.Add(entry); continue; }
            if (!seen.Add(key)) throw new ArgumentException($"task 'think': option '{key}' is given twice");
            options = key switch
            {
                "style" => options with { Style = ParseStyle(value) },
                "expansions" => options with { MaxExpansions = Integer(key, value) },
                "maxlen" => options with { MaxLength = Integer(key, value) },
                "path" => options with
                {
                    Path = value switch
                    {
                        "1" => TracePath.States,
                        "0" => TracePath.None,
                        "back" => TracePath.BackTo,
                        _ => throw new ArgumentException($"task 'think': option 'path' must be 0, 1 or back, got '{value}'"),
                    },
                },
                _ => options with
                {
                    Fallback = value switch
                    {
                        "drop" => TraceFallback.Drop,
                        "optimal" => TraceFallback.Optimal,
                        _ => throw new ArgumentException($"task 'think': option 'fallback' must be drop or optimal, got '{value}'"),
                    },
                },
            };
        }
        if (options.MaxLength < 0) throw new ArgumentException($"task 'think': option 'maxlen' must be at least 0, got {options.MaxLength}");
        string innerSpec = innerOptions.Count == 0 ? innerName : innerName + ":" + string.Join(',', innerOptions);
        return new ThinkingTask(createInner(innerSpec), options);
    }

    private static int Integer(string key, string value) =>
        int.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out int n)
            ? n : throw new ArgumentException($"task 'think': option '{key}' must be an integer, got '{value}'");
}
