namespace Ponder.Rewards;

/// <summary>What a run needs from a label file; a cached file is reused only when its header matches.</summary>
/// <param name="Task">Canonical task name.</param>
/// <param name="Policy">Policy identity (<see cref="PolicyIdentity"/>).</param>
/// <param name="Source">MC or gold.</param>
/// <param name="K">Completions per prefix; null accepts any (an ORM needs only outcomes).</param>
/// <param name="Seed">Seed of problems and sampling.</param>
/// <param name="Problems">Train problems.</param>
/// <param name="Samples">Solutions per problem.</param>
/// <param name="Temperature">Temperature of the samples and completions.</param>
/// <param name="MaxSteps">Steps kept per solution.</param>
public sealed record LabelRequest(string Task, string Policy, LabelSource Source, int? K, int Seed, int Problems, int Samples,
    double Temperature = 1.0, int MaxSteps = 16);
