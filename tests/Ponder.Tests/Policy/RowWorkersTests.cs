using Ponder.Policy;

namespace Ponder.Tests.Policy;

public sealed class RowWorkersTests
{
    [Fact]
    public void Every_part_runs_once_and_a_warm_call_allocates_nothing()
    {
        // Given a body that counts the parts it runs, and the workers warmed up by a first call
        var counts = new int[4];
        Action<int> body = part => Interlocked.Increment(ref counts[part]);
        RowWorkers.For(4, body);

        // When called again, measuring every thread's allocations
        var before = GC.GetTotalAllocatedBytes(precise: true);
        RowWorkers.For(4, body);
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;

        // Then each part ran once a call, and nothing was allocated on any thread (a garbage collection started by a
        // worker could otherwise free a TorchSharp Scalar that a libtorch call on the caller is reading)
        Assert.Equal([2, 2, 2, 2], counts);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void A_part_that_throws_throws_on_the_caller_and_the_workers_stay_usable()
    {
        // Given a body whose third part throws
        var e = Assert.Throws<InvalidOperationException>(() => RowWorkers.For(3, part =>
        {
            if (part == 2) throw new InvalidOperationException("part 2");
        }));

        // Then the caller sees it, and the next call runs every part
        Assert.Equal("part 2", e.Message);
        var ran = 0;
        RowWorkers.For(3, _ => Interlocked.Increment(ref ran));
        Assert.Equal(3, ran);
    }

    [Fact]
    public void A_part_that_asks_for_parts_runs_them_on_its_own_thread()
    {
        // Given a body whose parts each ask for two parts of their own
        var inner = 0;
        RowWorkers.For(2, _ => RowWorkers.For(2, _ => Interlocked.Increment(ref inner)));

        // Then all four inner parts ran, without waiting on workers that are busy with the outer call
        Assert.Equal(4, inner);
    }
}
