namespace Ponder.Scaling;

/// <summary>One (arm, N, seed) cell of a sweep, over all its problems.</summary>
/// <param name="Accuracy">Fraction of problems whose chosen answer is correct.</param>
/// <param name="Flops">Mean FLOPs per problem (policy and reward model).</param>
/// <param name="Tokens">Mean tokens per problem run by any network.</param>
/// <param name="ForwardPerGenerated">Policy tokens run ÷ tokens sampled, over all problems.</param>
public sealed record SweepPoint(string Arm, string Strategy, int N, int Seed, int Problems, int Correct, double Accuracy,
    double Flops, double Tokens, double ForwardPerGenerated, double Seconds);
