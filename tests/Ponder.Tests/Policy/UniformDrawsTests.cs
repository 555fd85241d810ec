using Ponder.Policy;
using static TorchSharp.torch;
using TorchGenerator = TorchSharp.torch.Generator;

namespace Ponder.Tests.Policy;

public sealed class UniformDrawsTests
{
    [Theory]
    [InlineData(0UL)]
    [InlineData(1UL)]
    [InlineData(11UL)]
    [InlineData(0x1_0000_0007UL)]                                                        // a seed past 32 bits: its low bits seed both
    public void The_draws_are_libtorchs_uniform_draws_from_a_cpu_generator_of_the_same_seed(ulong seed)
    {
        // Given libtorch's CPU generator and the C# draws, seeded alike
        using var scope = NewDisposeScope();
        using var generator = new TorchGenerator(seed);
        var draws = new UniformDraws(seed);

        // When both fill buffers of uneven sizes in turn, past several refills of the twister's 624 words of state
        foreach (var n in new[] { 1, 7, 623, 624, 625, 3000, 100 })
        {
            var theirs = empty(n, ScalarType.Float32).uniform_(0, 1, generator).data<float>().ToArray();
            var ours = new float[n];
            draws.Fill(ours);

            // Then every float is the same, bit for bit
            Assert.Equal(theirs, ours);
        }
    }

    [Fact]
    public void Draws_lie_in_the_unit_interval_and_spread_over_it()
    {
        var values = new float[100_000];
        new UniformDraws(5).Fill(values);
        Assert.All(values, v => Assert.InRange(v, 0f, 1f - 1f / (1 << 24)));
        Assert.InRange(values.Average(), 0.495, 0.505);
        Assert.InRange(values.Count(v => v < 0.1f), 9_500, 10_500);
    }
}
