namespace Ponder.Learning;

/// <summary>How a trainer's learning rate falls after its warmup, over the run's steps (TRL's <c>lr_scheduler_type</c>).</summary>
public enum LrDecay
{
    /// <summary>The peak rate to the end.</summary>
    Constant,
    /// <summary>Linearly from the peak to 0 at the last step (TRL's default).</summary>
    Linear,
    /// <summary>Half a cosine from the peak to 0 at the last step.</summary>
    Cosine,
}

public static class LrDecays
{
    /// <summary>
    /// The rate at 1-based <paramref name="step"/> of <paramref name="steps"/>: linear warmup to <paramref name="peak"/>
    /// over <paramref name="warmup"/> steps, then <paramref name="decay"/> from the peak to 0 at step <paramref name="steps"/>.
    /// </summary>
    public static double At(this LrDecay decay, double peak, int warmup, long step, long steps)
    {
        if (step <= warmup) return peak * step / Math.Max(1, warmup);
        var progress = Math.Min(1.0, (double)(step - warmup) / Math.Max(1, steps - warmup));
        return decay switch
        {
            LrDecay.Linear => peak * (1 - progress),
            LrDecay.Cosine => peak * 0.5 * (1 + Math.Cos(Math.PI * progress)),
            _ => peak,
        };
    }
}
