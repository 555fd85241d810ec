namespace Ponder.Rewards;

/// <summary>Where process labels come from.</summary>
public enum LabelSource
{
    /// <summary>Math-Shepherd Monte-Carlo labels: k policy completions from each step prefix (the default; needs only a verifier).</summary>
    Mc,
    /// <summary>The task's exact step checker (<c>CheckStep</c>): a comparison baseline, never the default.</summary>
    Gold,
}
