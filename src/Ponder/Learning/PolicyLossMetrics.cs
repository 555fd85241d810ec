namespace Ponder.Learning;

/// <summary>The parts of <see cref="PolicyLoss"/> for logging. KL and clip fraction are token means.</summary>
public sealed record PolicyLossMetrics(double Loss, double PolicyGradient, double Kl, double Entropy, double ClipFraction);
