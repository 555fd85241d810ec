namespace Ponder.Learning;

/// <summary>Where DPO's preference pairs come from.</summary>
public enum DpoPairs
{
    /// <summary>Whole solutions: a verified-correct and an incorrect sample of the same problem.</summary>
    Outcome,

    /// <summary>
    /// Steps: sibling next steps of one partial solution in an MCTS tree (verifier-valued rollouts), the one whose
    /// simulations ended correct more often against the one that did less, with the partial solution as shared context.
    /// </summary>
    Step,

    /// <summary>A preference file's pairs (<see cref="PreferencePair"/>: prompt, chosen, rejected), offline as TRL's DPO trains, in seeded shuffled passes.</summary>
    File,
}
