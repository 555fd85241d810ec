using Ponder.Tasks;

namespace Ponder.Thinking;

/// <summary>
/// Reads a countdown thinking section in the trace language and replays it: which moves were playable, which verdicts
/// were right, and whether every <c>back to</c> returned to a real earlier state. Depth-first styles (DFS, heuristic, optimal) move
/// into each state line and may only return to a state on the current path; frontier styles (BFS, best-first) stay at
/// the node being expanded and may only visit a generated state not yet visited.
/// One fault counts once: a move counted invalid (unparsable or unplayable) has no state or verdict to check, so the line
/// that answers it is judged only on its own (a state's or verdict's target), not again against the move; and a <c>no:</c>
/// line counts as a dead end only when it is right.
/// </summary>
internal static class TraceReader
{
    public static TraceStats Read(string thinking, IReadOnlyList<long> numbers, long target, TraceStyle style)
    {
        ArgumentNullException.ThrowIfNull(thinking);
        bool depthFirst = style is TraceStyle.Dfs or TraceStyle.Heuristic or TraceStyle.OptimalOnly;
        long[] current = [.. numbers.Order()];
        var path = new List<long[]> { current };        // depth first: the states from the root to the current one
        var frontier = new List<long[]>();               // frontier styles: generated, not yet visited
        (StepLine Step, long[]? Next)? pending = null;   // the last move, waiting for its verdict or state
        bool faulted = false;                            // the last move was counted invalid: its answer is not judged against it
        int tries = 0, deadEnds = 0, backtracks = 0, invalid = 0, invalidBack = 0, other = 0;
        bool solved = false, revised = false, first = true;

        foreach (string line in Solution.Lines(thinking))
        {
            if (first)
            {
                first = false;
                if (TraceLines.ParseState(line, target, out bool rootTarget) is { } root)
                {
                    if (!TraceLines.SameState(root, current) || !rootTarget) invalid++;
                    continue;
                }
            }
            if (line.StartsWith(TraceLines.Try, StringComparison.Ordinal))
            {
                tries++;
                if (pending is not null && !faulted) invalid++;   // the previous move got no verdict
                if (StepLine.TryParse(line[TraceLines.Try.Length..], out var step))
                {
                    var next = TraceLines.Play(current, step);
                    faulted = next is null;
                    pending = (step, next);
                }
                else
                {
                    faulted = true;
                    pending = null;
                }
                if (faulted) invalid++;
            }
            else if (line.StartsWith(TraceLines.Yes, StringComparison.Ordinal))
            {
                bool saysTarget = StepLine.TryParseInteger(line.AsSpan(TraceLines.Yes.Length), out long said) && said == target;
                bool right = pending is { Next: not null } p && p.Step.C == target && saysTarget;
                if (right && !solved) (solved, revised) = (true, deadEnds > 0);
                if (!right && !(faulted && saysTarget)) invalid++;
                (pending, faulted) = (null, false);
            }
            else if (line.StartsWith(TraceLines.No, StringComparison.Ordinal))
            {
                bool right = pending is { Next: { Length: 1 } } p && p.Step.C != target && line == TraceLines.DeadEnd(p.Step.C, target);
                // After a move counted invalid the line is judged on its own target only, as a state's or yes: line is.
                bool ownTarget = line.EndsWith(string.Create(System.Globalization.CultureInfo.InvariantCulture, $" != {target}"), StringComparison.Ordinal);
                if (right) deadEnds++;
                else if (!faulted || !ownTarget) invalid++;
                (pending, faulted) = (null, false);
            }
            else if (line.StartsWith(TraceLines.Back, StringComparison.Ordinal))
            {
                backtracks++;
                if (pending is not null && !faulted) invalid++;
                (pending, faulted) = (null, false);
                var state = TraceLines.ParseState(line[TraceLines.Back.Length..], target, out bool backTarget);
                if (state is null) { invalidBack++; continue; }
                if (!backTarget) invalid++;
                int at = depthFirst ? path.FindLastIndex(s => TraceLines.SameState(s, state)) : frontier.FindIndex(s => TraceLines.SameState(s, state));
                if (at < 0) invalidBack++;
                else if (depthFirst) path.RemoveRange(at + 1, path.Count - at - 1);
                else frontier.RemoveAt(at);
                current = state;
            }
            else if (TraceLines.ParseState(line, target, out bool stateTarget) is { } state)
            {
                bool follows = faulted || pending is { Next: { } next } && TraceLines.SameState(next, state);
                if (!follows || !stateTarget) invalid++;
                (pending, faulted) = (null, false);
                if (depthFirst) { path.Add(state); current = state; }
                else frontier.Add(state);
            }
            else
            {
                other++;
            }
        }
        return new TraceStats(tries, deadEnds, backtracks, invalid, invalidBack, other, solved, revised);
    }
}
