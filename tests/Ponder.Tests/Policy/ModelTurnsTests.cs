using Ponder.Policy;
using Generator = Ponder.Policy.Generator;

namespace Ponder.Tests.Policy;

public sealed class ModelTurnsTests
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<Exception> _errors = new();

    // Runs `body` on a thread of its own (not a pool thread that might be this one); what it throws is kept for Errors.
    private Thread Start(Action body)
    {
        var thread = new Thread(() =>
        {
            try
            {
                body();
            }
            catch (Exception e)
            {
                _errors.Enqueue(e);
            }
        })
        { IsBackground = true };
        thread.Start();
        return thread;
    }

    private static void WaitFor(Func<bool> condition)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < until, "timed out");
            Thread.Sleep(1);
        }
    }

    [Fact]
    public void A_waiting_thread_gets_the_turn_before_its_holder_takes_it_again()
    {
        // Given a turn held here and another thread waiting for one
        var turns = new ModelTurns();
        var order = new List<string>();
        var held = turns.Take();
        var other = Start(() =>
        {
            using var turn = turns.Take();
            lock (order) order.Add("other");
        });
        WaitFor(() => turns.Waiting == 1);

        // When the holder ends its turn and at once asks for the next
        held.Dispose();
        using (var again = turns.Take())
            lock (order) order.Add("holder");
        other.Join();

        // Then the waiting thread went first: turns alternate, first come, first served
        Assert.Empty(_errors);
        Assert.Equal(["other", "holder"], order);
        Assert.Equal(0, turns.Waiting);
    }

    [Fact]
    public void A_thread_may_take_its_turn_again_and_others_wait_for_the_outer_one_to_end()
    {
        // Given a turn taken twice on one thread (a call inside a call), and another thread asking for one
        var turns = new ModelTurns();
        var outer = turns.Take();
        var inner = turns.Take();
        var got = false;
        var other = Start(() =>
        {
            using var turn = turns.Take();
            Volatile.Write(ref got, true);
        });
        WaitFor(() => turns.Waiting == 1);

        // When the inner one ends, the other thread still waits; when the outer one ends, it gets its turn
        inner.Dispose();
        Thread.Sleep(50);
        Assert.False(Volatile.Read(ref got));
        outer.Dispose();
        other.Join();
        Assert.True(got);
        Assert.Empty(_errors);
    }

    [Fact]
    public void A_thread_whose_wait_is_interrupted_gives_up_its_place_and_holds_no_one_back()
    {
        // Given a turn held here, a thread waiting for one, and a third thread waiting behind it
        var turns = new ModelTurns();
        var held = turns.Take();
        Exception? error = null;
        var interrupted = Start(() => error = Record.Exception(() =>
        {
            using var turn = turns.Take();
        }));
        WaitFor(() => turns.Waiting == 1);
        var got = false;
        var behind = Start(() =>
        {
            using var turn = turns.Take();
            Volatile.Write(ref got, true);
        });
        WaitFor(() => turns.Waiting == 2);

        // When the first waiter's wait is interrupted, and then the holder ends its turn
        interrupted.Interrupt();
        interrupted.Join();
        held.Dispose();
        behind.Join(TimeSpan.FromSeconds(20));

        // Then the interrupted thread got no turn, and the one behind it got its turn all the same
        Assert.IsType<ThreadInterruptedException>(error);
        Assert.Empty(_errors);
        Assert.True(Volatile.Read(ref got));
        Assert.Equal(0, turns.Waiting);
    }

    [Fact]
    public void Generators_sharing_a_model_on_two_threads_each_sample_what_they_sample_alone()
    {
        // Given one model, two generators over it taking the same turns, and what each samples alone
        var tokenizer = new TestCharTokenizer();
        using var model = TinyModels.Model(tokenizer.VocabSize);
        var turns = new ModelTurns();
        var generators = new[] { new Generator(model, tokenizer).Taking(turns), new Generator(model, tokenizer).Taking(turns) };
        int[][][] prompts = [[[tokenizer.Bos, .. tokenizer.Encode("12+3")], [tokenizer.Bos, .. tokenizer.Encode("a")]], [[tokenizer.Bos, .. tokenizer.Encode("hello")]]];
        var options = new[] { new SamplingOptions { Temperature = 1, MaxNewTokens = 60, Seed = 3, IgnoreEos = true }, new SamplingOptions { Temperature = 0.8, MaxNewTokens = 50, Seed = 4, IgnoreEos = true } };
        var alone = Enumerable.Range(0, 2).Select(i => generators[i].Generate(prompts[i], options[i])).ToArray();

        // When both sample at once, each on its own thread
        var together = new IReadOnlyList<Generation>[2];
        var threads = Enumerable.Range(0, 2).Select(i => Start(() => together[i] = generators[i].Generate(prompts[i], options[i]))).ToArray();
        foreach (var thread in threads) thread.Join();

        // Then each gets the same tokens and log-probabilities as alone
        Assert.Empty(_errors);
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(alone[i].Select(g => g.Tokens), together[i].Select(g => g.Tokens));
            Assert.Equal(alone[i].Select(g => g.LogProbs), together[i].Select(g => g.LogProbs));
        }
        Assert.Same(turns, generators[1].Turns);
    }
}
