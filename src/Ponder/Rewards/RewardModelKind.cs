namespace Ponder.Rewards;

/// <summary>What a reward model was trained to predict; <c>ponder.json</c> records it as "orm" or "prm".</summary>
public enum RewardModelKind
{
    /// <summary>Outcome reward model: P(the complete solution is correct), read after its last line.</summary>
    Orm,
    /// <summary>Process reward model: P(correct) of every step prefix, read after each step.</summary>
    Prm,
}
