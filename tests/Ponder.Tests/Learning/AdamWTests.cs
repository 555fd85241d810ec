using Ponder.Learning;
using static TorchSharp.torch;

namespace Ponder.Tests.Learning;

public sealed class AdamWTests
{
    [Fact]
    public void An_update_limited_to_some_parameters_leaves_the_others_where_their_momentum_would_move_them()
    {
        // Given two parameters that both took one step (so both carry momentum), then a step whose loss reaches only the first
        using var a = ones(3).requires_grad_();
        using var b = ones(3).requires_grad_();
        var optimizer = new AdamW([("policy.w", a), ("value_head.w", b)], weightDecay: 0);
        (a * 2 + b * 3).sum().backward();
        optimizer.Update(0.1);
        optimizer.ZeroGrad();
        (a * 2).sum().backward();                                                           // b's gradient is zero, not absent
        var before = b.detach().clone();

        // When the update names the first only, Then the second does not move; without the filter its momentum moves it
        optimizer.Update(0.1, name => !name.StartsWith("value_head.", StringComparison.Ordinal));
        Assert.Equal(before.data<float>().ToArray(), b.detach().data<float>().ToArray());
        optimizer.Update(0.1);
        Assert.NotEqual(before.data<float>().ToArray(), b.detach().data<float>().ToArray());

        // And disposed, it frees its moments (held outside any dispose scope) and keeps none
        var moments = optimizer.State().Where(p => p.Key != "step").Select(p => p.Value).ToList();
        optimizer.Dispose();
        Assert.All(moments, m => Assert.True(m.IsInvalid));
        Assert.Equal(["step"], optimizer.State().Keys);
    }
}
