using Ponder.Policy;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Ponder.Tests.Policy;

public sealed class SmallRowOpsTests
{
    private const double Relative = SmallRowLinearTests.Relative;

    private static double RelativeDiff(Tensor actual, Tensor expected) => SmallRowLinearTests.RelativeDiff(actual, expected);

    [Theory]
    [InlineData(1, 128)]
    [InlineData(3, 37)]   // width not a multiple of 8
    [InlineData(4, 64)]
    public void Rms_norm_matches_the_module(int rows, int width)
    {
        // Given a norm with a non-trivial gain and a few rows of input
        torch.manual_seed(rows);
        using var scope = NewDisposeScope();
        using var norm = new RmsNorm(width, 1e-5);
        using var noGrad = no_grad();
        norm.Weight.normal_(1, 0.5);
        var x = randn(rows, 1, width) * 3;                                              // (rows, 1, C)

        // When normed by the module and in C#
        Assert.True(SmallRowOps.Plain(x, width));
        var ours = norm.Forward(x, decodeStep: true);

        // Then the results agree
        Assert.True(RelativeDiff(ours, norm.call(x)) < Relative, $"relative diff {RelativeDiff(ours, norm.call(x))}");
    }

    [Theory]
    [InlineData(1, 1, true)]    // a decode step: tables per batch row
    [InlineData(2, 2, false)]   // a short full forward: one table row per position, shared by the batch
    [InlineData(4, 1, true)]
    public void Rotary_in_place_matches_rotary_apply_on_the_rotated_heads(int batch, int steps, bool perRowTables)
    {
        // Given q/k/v rows of 3 heads, 2 of them rotated, and the rotary tables at some positions
        torch.manual_seed(batch * 10 + steps);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        const int hs = 16, heads = 3, rotated = 2;
        using var rotary = new Rotary(hs, 64, 10000);
        var positions = perRowTables ? randint(0, 64, [batch, steps]) : arange(3, 3 + steps, ScalarType.Int64).unsqueeze(0); // (B or 1, T)
        var (cos, sin) = rotary.Lookup(positions, ScalarType.Float32);                  // (B or 1, 1, T, hs)
        var flat = randn(batch, steps, heads * hs);                                      // (B, T, H·hs)
        var heads4 = flat.view(batch, steps, heads, hs).transpose(1, 2);                 // (B, H, T, hs)
        var expected = cat([Rotary.Apply(heads4.narrow(1, 0, rotated), cos, sin), heads4.narrow(1, rotated, 1)], 1);

        // When rotated in place in C#
        SmallRowOps.RotaryInPlace(flat, rotated, hs, cos, sin);

        // Then the rotated heads are Rotary.Apply's and the last head is untouched
        var actual = flat.view(batch, steps, heads, hs).transpose(1, 2);
        Assert.True(RelativeDiff(actual, expected) < Relative, $"relative diff {RelativeDiff(actual, expected)}");
    }

    [Theory]
    [InlineData(1, 352)]
    [InlineData(2, 13)]   // width not a multiple of 8
    public void Silu_gate_matches_silu_times_up(int rows, int width)
    {
        // Given gate and up side by side, as the fused gate/up linear returns them
        torch.manual_seed(width);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var gateUp = randn(rows, 1, 2 * width) * 4;                                     // (rows, 1, 2·I)

        // When gated in C#
        var ours = SmallRowOps.SiluGate(gateUp);

        // Then it is silu(gate)·up
        var parts = gateUp.chunk(2, -1);
        var expected = F.silu(parts[0]) * parts[1];
        Assert.Equal(expected.shape, ours.shape);
        Assert.True(RelativeDiff(ours, expected) < Relative, $"relative diff {RelativeDiff(ours, expected)}");
    }

    [Fact]
    public void The_address_of_a_tensor_over_2_GiB_comes_from_libtorch_where_a_span_cannot_hold_it()
    {
        // Given a 2.4 GB tensor (allocated, never touched) and a view of its last element
        using var big = empty(600_000_000L, ScalarType.Float32);
        using var last = big.narrow(0, 599_999_999, 1);

        // Then TorchSharp's span refuses it, and the kernels' address is its memory, the view's 599,999,999 floats on
        Assert.ThrowsAny<Exception>(() => big.bytes.Length);
        Assert.NotEqual(0, SmallRowOps.Address(big));
        Assert.Equal(SmallRowOps.Address(big) + 599_999_999L * sizeof(float), SmallRowOps.Address(last));
        Assert.Equal(0, SmallRowOps.Address(null));
    }

    [Fact]
    public void Plain_is_contiguous_float_rows_of_the_width_without_gradients()
    {
        using var scope = NewDisposeScope();
        var x = randn(2, 8);
        Assert.False(SmallRowOps.Plain(x, 8));                                            // gradients enabled
        using var noGrad = no_grad();
        Assert.True(SmallRowOps.Plain(x, 8));
        Assert.True(SmallRowOps.Plain(randn(64, 8), 8));                                  // any number of rows
        Assert.False(SmallRowOps.Plain(randn(8, 2).t(), 8));
        Assert.False(SmallRowOps.Plain(x.to(ScalarType.Float64), 8));
        Assert.False(SmallRowOps.Plain(x, 4));
        Assert.False(SmallRowOps.Plain(empty(0, 8), 8));
    }

    [Theory]
    [InlineData(ScalarType.BFloat16)]
    [InlineData(ScalarType.Float32)]
    public void Columns_in_front_that_no_query_sees_are_skipped_without_changing_a_bit(ScalarType cacheType)
    {
        // Given a cache whose first 21 columns a new token cannot see, 16 it can, and its own
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        const int heads = 4, kvHeads = 2, hs = 32, lead = 21, s = lead + 17;
        torch.manual_seed(3);
        var keys = randn(1, kvHeads, s, hs).to(cacheType);
        var values = randn(1, kvHeads, s, hs).to(cacheType);
        var qkv = randn(1, 1, (heads + 2 * kvHeads) * hs);
        Tensor Attend(float hidden)
        {
            var mask = zeros(1, 1, 1, s);
            mask.narrow(3, 0, lead).fill_(hidden);
            return SmallRowOps.CachedAttention(qkv.clone(), heads, kvHeads, hs, keys.clone(), values.clone(), s - 1, mask, threads: 1);
        }

        // When the hidden columns are masked with −∞ (skipped in front, in whole blocks of 16) and with −10³⁰ (computed,
        // their weights exactly zero)
        var skipped = Attend(float.NegativeInfinity);
        var computed = Attend(-1e30f);

        // Then the outputs are equal bit for bit
        Assert.Equal(computed.data<float>().ToArray(), skipped.data<float>().ToArray());
    }
}
