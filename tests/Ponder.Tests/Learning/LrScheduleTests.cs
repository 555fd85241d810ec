using Ponder.Learning;

namespace Ponder.Tests.Learning;

public sealed class LrScheduleTests
{
    [Fact]
    public void Warmup_is_linear_and_cosine_ends_at_the_floor()
    {
        var schedule = new LrSchedule(Peak: 1.0, WarmupSteps: 10, TotalSteps: 110, MinFraction: 0.1);

        Assert.Equal(0.1, schedule.At(1), 12);
        Assert.Equal(1.0, schedule.At(10), 12);
        Assert.Equal(0.55, schedule.At(60), 12);   // halfway down the cosine: 0.1 + 0.9 * 0.5
        Assert.Equal(0.1, schedule.At(110), 12);
        Assert.Equal(0.1, schedule.At(500), 12);   // stays at the floor past the end
    }
}
