namespace Ponder.Learning;

/// <summary>Which weights expert iteration fine-tunes each round.</summary>
public enum ExpertRestart
{
    /// <summary>Keep training the previous round's model (and its optimizer state).</summary>
    Continue,
    /// <summary>Fine-tune the original start policy afresh each round, with a fresh optimizer (STaR, ReST-EM).</summary>
    Base,
}
