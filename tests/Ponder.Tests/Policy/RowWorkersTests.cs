using Ponder.Policy;

namespace Ponder.Tests.Policy;

public sealed class RowWorkersTests
{
    [Fact]
    public void Every_part_runs_once_and_a_worker_allocates_nothing_once_warm()
    {
        // Given a body that counts the parts it runs, and workers that have run and waited a few times (a wait that
        // blocks may make its lock once)
        var counts = new int[3];
        Action<int> body = part => Interlocked.Increment(ref counts[part]);
        for (var i = 0; i < 3; i++)
        {
            RowWorkers.For(3, body);
            Thread.Sleep(20);
        }
        var before = new[] { RowWorkers.AllocatedBytes(0), RowWorkers.AllocatedBytes(1) };

        // When called again, each worker waiting in between
        for (var i = 0; i < 3; i++)
        {
            Thread.Sleep(20);
            RowWorkers.For(3, body);
        }

        // Then each part ran once a call, and neither worker thread allocated a byte (a garbage collection started by a
        // worker could otherwise free a TorchSharp Scalar that a libtorch call on the caller is reading)
        Assert.Equal([6, 6, 6], counts);
        Assert.Equal(before, new[] { RowWorkers.AllocatedBytes(0), RowWorkers.AllocatedBytes(1) });
    }

    [Fact]
    public void Calls_of_different_part_counts_back_to_back_run_each_part_once()
    {
        // Given calls that alternate 2, 4 and 3 parts with no pause between them, so that workers a call does not use
        // are still spinning, or just waking, when the next call that does use them starts
        const int calls = 3000;
        var runs = new int[calls, 4];
        var parts = new int[calls];

        // When each call's parts record that they ran
        for (var c = 0; c < calls; c++)
        {
            parts[c] = 2 + c % 3;
            var call = c;
            RowWorkers.For(parts[c], part => Interlocked.Increment(ref runs[call, part]));
        }

        // Then every part of every call ran exactly once, and no part beyond a call's count ran
        for (var c = 0; c < calls; c++)
            for (var part = 0; part < 4; part++)
                Assert.True(runs[c, part] == (part < parts[c] ? 1 : 0), $"call {c} ({parts[c]} parts): part {part} ran {runs[c, part]} times");
    }

    [Fact]
    public unsafe void A_linear_on_one_thread_allocates_nothing()
    {
        // Given the two C# linear kernels, warm, with a 128 × 64 weight and 4 input rows
        var (x, w, y) = (new float[4 * 64], new float[128 * 64], new float[4 * 128]);
        fixed (float* xp = x, wp = w, yp = y)
        {
            Both(xp, wp, yp);

            // When each runs on this thread alone (as inside a fused append's rows, once per projection and layer)
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < 10; i++) Both(xp, wp, yp);

            // Then no byte was allocated (a split's closure is made only when there is a split)
            Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
        }

        static void Both(float* xp, float* wp, float* yp)
        {
            TiledLinear.Compute(xp, 4, wp, null, yp, 128, 64, accumulate: false, threads: 1);
            SmallRowLinear.Compute(xp, 4, wp, null, yp, 128, 64, threads: 1);
        }
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
