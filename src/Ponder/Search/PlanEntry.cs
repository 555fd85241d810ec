namespace Ponder.Search;

/// <summary>One strategy setting measured on a validation split: what compute-optimal chooses among.</summary>
/// <param name="Name">The sweep arm's label.</param>
/// <param name="N">The samples budget it ran at.</param>
/// <param name="Flops">Mean FLOPs per problem it spent on the validation split.</param>
/// <param name="Tokens">Mean tokens per problem it spent on the validation split.</param>
/// <param name="Accuracy">Its validation accuracy (mean over seeds).</param>
public sealed record PlanEntry(string Name, StrategyKind Kind, SearchSettings Settings, int N, double Flops, double Tokens, double Accuracy);
