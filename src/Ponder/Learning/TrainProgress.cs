namespace Ponder.Learning;

/// <summary>What a trainer reports after each step, for progress bars and log lines.</summary>
/// <param name="Step">Steps done.</param>
/// <param name="TotalSteps">Steps planned.</param>
/// <param name="Loss">Loss of the last step.</param>
/// <param name="TokensPerSecond">Training throughput since the run (or resume) started.</param>
/// <param name="Message">A line worth printing on its own (evaluation, checkpoint), or null.</param>
public sealed record TrainProgress(long Step, long TotalSteps, double Loss, double TokensPerSecond, string? Message = null);
