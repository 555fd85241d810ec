namespace Ponder.Thinking;

/// <summary>How the thinking section of a gold solution explores the problem.</summary>
public enum TraceStyle
{
    /// <summary>The shortest solution only, written in the trace language: no dead ends, no backtracking.</summary>
    OptimalOnly,
    /// <summary>Depth-first search in the solver's fixed move order; a state line moves into that state, <c>back to S</c> returns to an ancestor.</summary>
    Dfs,
    /// <summary>Breadth-first: every child of a node is generated before the next node is visited with <c>back to S</c>.</summary>
    Bfs,
    /// <summary>Best-first: like <see cref="Bfs"/>, but the next node is the generated one closest to the target (smallest |target − n|).</summary>
    BestFirst,
    /// <summary>
    /// Heuristic depth-first: the moves of a state are tried closest result first (smallest |target − n| of the state they
    /// lead to, ties in the fixed order), and from a state of two numbers only the closest move is tried: when it misses,
    /// every other move misses too, so each dead end is one <c>try</c> and one <c>no</c> line.
    /// </summary>
    Heuristic,
}
