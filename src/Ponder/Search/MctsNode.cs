namespace Ponder.Search;

/// <summary>A node of the MCTS tree: a step node with its prior, visit count and summed value.</summary>
internal sealed class MctsNode(StepNode step, double prior)
{
    public StepNode Step { get; } = step;

    /// <summary>P: the policy's probability of this step among its distinct siblings.</summary>
    public double Prior { get; } = prior;

    public int Visits { get; set; }

    public double ValueSum { get; set; }

    /// <summary>Q: mean value of the simulations through this node; 0 before any.</summary>
    public double Mean => Visits == 0 ? 0 : ValueSum / Visits;

    public List<MctsNode> Children { get; } = [];

    public bool Expanded { get; set; }

    /// <summary>Value of a finished node, computed once.</summary>
    public double? TerminalValue { get; set; }

    public bool Terminal => Step.Finished;

    /// <summary>
    /// True once every path through this node is known to end in a finished solution: it is finished, or expanded with
    /// every child exhausted (kept up to date along each simulation's path).
    /// </summary>
    public bool Exhausted { get; set; }
}
