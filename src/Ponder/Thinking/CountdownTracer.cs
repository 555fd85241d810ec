using System.Globalization;
using Ponder.Tasks;

namespace Ponder.Thinking;

/// <summary>
/// Writes countdown searches as text (Stream of Search style) in the language of <see cref="TraceLines"/>. Every trace
/// starts with the sorted input state and ends with <c>yes: target</c>; the answer is the path of moves that made it.
/// The exploration stops after <see cref="TraceOptions.MaxExpansions"/> moves; then <see cref="TraceOptions.Fallback"/> decides.
/// </summary>
/// <example>
/// DFS on <c>8 6 19 -> 67</c>: <c>6 8 19 -> 67</c> / <c>try 8+6=14</c> / <c>14 19 -> 67</c> / <c>try 19+14=33</c> / <c>no: 33 != 67</c> /
/// <c>try 19-14=5</c> / <c>no: 5 != 67</c> / <c>try 19*14=266</c> / <c>no: 266 != 67</c> / <c>back to 6 8 19 -> 67</c> / <c>try 8-6=2</c> / ... /
/// <c>back to 6 8 19 -> 67</c> / <c>try 8*6=48</c> / <c>19 48 -> 67</c> / <c>try 48+19=67</c> / <c>yes: 67</c>; answer <c>8*6=48</c> / <c>48+19=67</c> / <c>#67</c>.
/// </example>
internal sealed class CountdownTracer
{
    private readonly long _target;
    private readonly int _maxExpansions;
    private readonly TracePath _paths;
    private readonly List<string> _lines = [];
    private int _expansions, _deadEnds, _backtracks;
    private bool _aborted;

    private CountdownTracer(long target, int maxExpansions, TracePath paths) => (_target, _maxExpansions, _paths) = (target, maxExpansions, paths);

    /// <summary>The trace of one puzzle, or null when the search fails within the bound and the fallback is <see cref="TraceFallback.Drop"/>.</summary>
    public static SearchTrace? Trace(IReadOnlyList<long> numbers, long target, TraceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        long[] root = [.. numbers.Order()];
        var tracer = new CountdownTracer(target, options.MaxExpansions, options.Path);
        tracer._lines.Add(TraceLines.State(root, target));
        List<StepLine>? path = options.Style switch
        {
            TraceStyle.OptimalOnly => tracer.Optimal(root),
            TraceStyle.Dfs => tracer.Dfs(root, [], heuristic: false),
            TraceStyle.Heuristic => tracer.Dfs(root, [], heuristic: true),
            TraceStyle.Bfs or TraceStyle.BestFirst => tracer.Frontier(root, options.Style == TraceStyle.BestFirst),
            _ => throw new ArgumentOutOfRangeException(nameof(options), options.Style, "unknown trace style"),
        };
        var answer = path?.Select(s => s.ToString()).Append("#" + target.ToString(CultureInfo.InvariantCulture)).ToList();
        bool tooLong = answer is not null && options.TooLong(tracer._lines, answer);
        if (path is null || answer is null || tooLong)
        {
            return options.Fallback == TraceFallback.Optimal && options.Style != TraceStyle.OptimalOnly
                ? Trace(numbers, target, options with { Style = TraceStyle.OptimalOnly })
                : null;
        }
        return new SearchTrace(tracer._lines, answer, tracer._expansions, tracer._deadEnds, tracer._backtracks);
    }

    private List<StepLine>? Optimal(long[] root)
    {
        var steps = CountdownSolver.Shortest(root, _target);
        if (steps is null || steps.Count == 0) return null;
        long[] state = root;
        for (int i = 0; i < steps.Count; i++)
        {
            var step = steps[i];
            state = TraceLines.Play(state, step) ?? throw new InvalidOperationException($"solver step {step} is not playable");
            _expansions++;
            _lines.Add(TraceLines.Move(step));
            if (step.C == _target) break;
            _lines.Add(TraceLines.State(state, _target, StatePath(steps.Take(i + 1))));
        }
        _lines.Add(TraceLines.Solved(_target));
        return [.. steps];
    }

    // Depth first: a state line moves into the child; after an exhausted child, "back to" returns here when moves remain.
    // Heuristic: closest child first, and a two-number state tries only its closest move (a miss there means all miss).
    private List<StepLine>? Dfs(long[] state, List<StepLine> path, bool heuristic)
    {
        var moves = TraceLines.Moves(state).ToList();
        if (heuristic)
        {
            moves = [.. moves.OrderBy(m => TraceLines.Distance(m.Next, _target))];   // stable: ties keep the fixed order
            if (state.Length == 2) moves = moves.Take(1).ToList();
        }
        for (int k = 0; k < moves.Count; k++)
        {
            var (step, next) = moves[k];
            if (!Expand(step, next, path, out bool solved)) return null;
            path.Add(step);
            if (solved) return path;
            if (next.Length > 1)
            {
                if (Dfs(next, path, heuristic) is { } found) return found;
                if (_aborted) return null;
                if (k < moves.Count - 1)
                {
                    _lines.Add(TraceLines.BackTo(state, _target, BackToPath(path.SkipLast(1))));
                    _backtracks++;
                }
            }
            path.RemoveAt(path.Count - 1);
        }
        return null;
    }

    // Breadth first or best first: all children of the current node are generated; "back to" visits the next frontier node.
    private List<StepLine>? Frontier(long[] root, bool best)
    {
        var frontier = new List<(long[] State, List<StepLine> Path)>();
        var (state, path) = (root, new List<StepLine>());
        while (true)
        {
            foreach (var (step, next) in TraceLines.Moves(state))
            {
                if (!Expand(step, next, path, out bool solved)) return null;
                if (solved) return [.. path, step];
                if (next.Length > 1) frontier.Add((next, [.. path, step]));
            }
            if (frontier.Count == 0) return null;
            int pick = 0;
            if (best)
                for (int i = 1; i < frontier.Count; i++)
                    if (TraceLines.Distance(frontier[i].State, _target) < TraceLines.Distance(frontier[pick].State, _target)) pick = i;
            (state, path) = frontier[pick];
            frontier.RemoveAt(pick);
            _lines.Add(TraceLines.BackTo(state, _target, BackToPath(path)));
            _backtracks++;
        }
    }

    /// <summary>The path a state line carries: the moves that led to the state with <see cref="TracePath.States"/>, else none.</summary>
    /// <remarks>Copied only when a line carries it, so the default traces do no path work.</remarks>
    private List<StepLine>? StatePath(IEnumerable<StepLine> moves) => _paths == TracePath.States ? [.. moves] : null;

    /// <summary>The path a <c>back to</c> line carries: with <see cref="TracePath.States"/> or <see cref="TracePath.BackTo"/>, else none.</summary>
    private List<StepLine>? BackToPath(IEnumerable<StepLine> moves) => _paths == TracePath.None ? null : [.. moves];

    /// <summary>Writes one move (from the state <paramref name="path"/> led to) and its verdict or resulting state; false when the expansion bound is reached.</summary>
    private bool Expand(StepLine step, long[] next, List<StepLine> path, out bool solved)
    {
        solved = false;
        if (++_expansions > _maxExpansions)
        {
            _aborted = true;
            return false;
        }
        _lines.Add(TraceLines.Move(step));
        if (step.C == _target)
        {
            _lines.Add(TraceLines.Solved(_target));
            solved = true;
        }
        else if (next.Length == 1)
        {
            _lines.Add(TraceLines.DeadEnd(step.C, _target));
            _deadEnds++;
        }
        else
        {
            _lines.Add(TraceLines.State(next, _target, StatePath(path.Append(step))));
        }
        return true;
    }
}
