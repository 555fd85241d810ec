namespace Ponder.Scaling;

/// <summary>An arm at one budget, over its seeds: mean FLOPs and tokens per problem, mean accuracy and its spread (sample standard deviation over seeds).</summary>
public sealed record CurvePoint(int N, double Flops, double Tokens, double Accuracy, double Spread, int Seeds);
