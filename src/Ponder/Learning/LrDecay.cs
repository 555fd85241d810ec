namespace Ponder.Learning;

/// <summary>How a trainer's learning rate falls after its warmup (TRL's <c>lr_scheduler_type</c>); see <see cref="LrSchedule"/>.</summary>
public enum LrDecay
{
    /// <summary>The peak rate to the end.</summary>
    Constant,
    /// <summary>Linearly from the peak to the floor at the last step (TRL's default, with a floor of 0).</summary>
    Linear,
    /// <summary>Half a cosine from the peak to the floor at the last step.</summary>
    Cosine,
}
