namespace Ponder.Learning;

/// <summary>Linear warmup to the peak, then <paramref name="Decay"/> (cosine by default) to <c>MinFraction</c> of it at <c>TotalSteps</c>.</summary>
/// <param name="Peak">Learning rate at the end of warmup.</param>
/// <param name="WarmupSteps">Steps of linear warmup from Peak/WarmupSteps.</param>
/// <param name="TotalSteps">Step at which the decay reaches its floor.</param>
/// <param name="MinFraction">Floor as a fraction of the peak (keeps late steps useful).</param>
/// <param name="Decay">The shape of the fall after the warmup; <see cref="LrDecay.Constant"/> stays at the peak.</param>
public sealed record LrSchedule(double Peak, int WarmupSteps, int TotalSteps, double MinFraction = 0.1, LrDecay Decay = LrDecay.Cosine)
{
    /// <summary>Learning rate for 1-based <paramref name="step"/>.</summary>
    public double At(long step)
    {
        if (step <= WarmupSteps) return Peak * step / Math.Max(1, WarmupSteps);
        double progress = Math.Min(1.0, (double)(step - WarmupSteps) / Math.Max(1, TotalSteps - WarmupSteps));
        double left = Decay switch                                      // share of the way from floor to peak still left
        {
            LrDecay.Linear => 1 - progress,
            LrDecay.Cosine => 0.5 * (1 + Math.Cos(Math.PI * progress)),
            _ => 1,
        };
        return Peak * (MinFraction + (1 - MinFraction) * left);
    }
}
