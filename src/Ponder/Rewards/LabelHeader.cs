namespace Ponder.Rewards;

/// <summary>
/// First line of a label file: what the labels were made from, so a cache is reused only for the same request.
/// </summary>
/// <param name="Format">Always <see cref="CurrentFormat"/>.</param>
/// <param name="Task">Canonical task name.</param>
/// <param name="Policy">Identity of the policy (see <see cref="PolicyIdentity"/>).</param>
/// <param name="Source">MC or gold.</param>
/// <param name="K">Completions per step prefix (0 for gold labels).</param>
/// <param name="Seed">Seed of the problems drawn and of the sampling.</param>
/// <param name="Problems">Train problems drawn.</param>
/// <param name="Samples">Solutions sampled per problem.</param>
/// <param name="Count">Solution lines that follow (a shorter file is truncated).</param>
/// <param name="Cost">What labelling cost when the file was made.</param>
public sealed record LabelHeader(string Format, string Task, string Policy, LabelSource Source, int K, int Seed,
    int Problems, int Samples, int Count, LabelCost Cost)
{
    public const string CurrentFormat = "ponder-step-labels/1";

    /// <summary>Temperature the solutions (and completions) were sampled at; absent in files written before it was recorded, which were made at 1.</summary>
    public double? Temperature { get; init; }

    /// <summary>Steps kept per solution; absent in files written before it was recorded, which were made at 16.</summary>
    public int? MaxSteps { get; init; }

    /// <summary>
    /// The split scheme the problems were drawn under: <see cref="CurrentSplit"/> since countdown puzzles are one problem
    /// whatever the order of their numbers; absent in older files, whose countdown problems may be held-out ones now.
    /// </summary>
    public int? Split { get; init; }

    public const int CurrentSplit = 2;
}
