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
        var moments = optimizer.State().Where(p => p.Key.StartsWith("exp_avg", StringComparison.Ordinal)).Select(p => p.Value).ToList();
        optimizer.Dispose();
        Assert.All(moments, m => Assert.True(m.IsInvalid));
        Assert.Equal(["step"], optimizer.State().Keys);
    }

    [Fact]
    public void A_parameter_left_out_of_updates_counts_only_its_own_in_its_bias_correction_and_keeps_the_count_through_a_save()
    {
        // Given two parameters, the second left out of the first two updates
        using var a = ones(3).requires_grad_();
        using var b = ones(3).requires_grad_();
        var optimizer = new AdamW([("policy.w", a), ("value_head.w", b)], weightDecay: 0);
        for (int k = 0; k < 2; k++)
        {
            (a * 2 + b * 3).sum().backward();
            optimizer.Update(0.1, name => name.StartsWith("policy.", StringComparison.Ordinal));
            optimizer.ZeroGrad();
        }
        var before = b.detach().clone();

        // When it takes its first update (the optimizer's third)
        (a * 2 + b * 3).sum().backward();
        optimizer.Update(0.1);

        // Then it moves by Adam's first step, lr·g/(|g|+ε) = 0.1 (a third step's bias correction would give 0.062)
        var moved = (before - b.detach()).data<float>().ToArray();
        Assert.All(moved, d => Assert.Equal(0.1, d, 1e-5));

        // And its count survives a save: a fresh optimizer loaded from the state takes it on from 1
        var state = optimizer.State();
        Assert.Equal(1.0, state["step.value_head.w"].to(ScalarType.Float64).item<double>());
        Assert.False(state.ContainsKey("step.policy.w"));                                     // its count is the optimizer's
        var reloaded = new AdamW([("policy.w", a.detach().clone().requires_grad_()), ("value_head.w", b)], weightDecay: 0);
        reloaded.Load(state, "test");
        optimizer.ZeroGrad();
        (b * 3).sum().backward();
        var again = b.detach().clone();
        reloaded.Update(0.1);
        Assert.All((again - b.detach()).data<float>().ToArray(), d => Assert.Equal(0.1, d, 1e-5));
        Assert.Equal(2.0, reloaded.State()["step.value_head.w"].to(ScalarType.Float64).item<double>());
        optimizer.Dispose();
        reloaded.Dispose();
    }
}
