namespace Ponder.Scaling;

/// <summary>The difficulty estimate of one problem of a sweep, under one search seed, and what it spent.</summary>
/// <param name="Score">The estimator's answer-free score (higher = easier).</param>
public sealed record DifficultyPoint(int Seed, int Problem, double Score, double Flops, double Tokens);
