using Ponder.Tasks;

namespace Ponder.Rewards;

/// <summary>One solution sampled from the policy, split into steps and checked.</summary>
/// <param name="Problem">The problem.</param>
/// <param name="Text">The completion as generated.</param>
/// <param name="Steps">Its steps (<see cref="StepText.Steps"/>).</param>
/// <param name="Outcome">The verifier's verdict.</param>
public sealed record SampledSolution(Problem Problem, string Text, IReadOnlyList<string> Steps, Outcome Outcome);
