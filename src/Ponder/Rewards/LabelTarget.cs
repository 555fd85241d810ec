namespace Ponder.Rewards;

/// <summary>Which form of a Monte-Carlo label a reward model is trained on.</summary>
public enum LabelTarget
{
    /// <summary>1 when any of the k completions is correct, else 0 (Math-Shepherd's hard estimate).</summary>
    Hard,
    /// <summary>The fraction of the k completions that are correct (binary cross-entropy accepts it as a target).</summary>
    Soft,
}
