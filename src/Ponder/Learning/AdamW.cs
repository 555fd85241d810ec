using TorchSharp;
using static TorchSharp.torch;

namespace Ponder.Learning;

/// <summary>
/// AdamW (Loshchilov and Hutter 2019) with its state held as named tensors, so a checkpoint can save
/// it next to the weights and <c>--resume</c> continues exactly.
/// <code>
/// m ← β1·m + (1−β1)·g          v ← β2·v + (1−β2)·g²
/// θ ← θ·(1 − lr·λ) − lr · (m / (1−β1ᵗ)) / (√(v / (1−β2ᵗ)) + ε)
/// </code>
/// Weight decay λ applies to matrices only (norm gains and biases are not decayed).
/// </summary>
public sealed class AdamW : IDisposable
{
    readonly List<(string Name, Tensor Param, Tensor M, Tensor V, bool Decay)> slots = [];
    readonly double beta1, beta2, eps, weightDecay;

    /// <summary>Optimizer steps taken (t in the bias corrections).</summary>
    public long Step { get; private set; }

    public AdamW(IEnumerable<(string Name, Tensor Param)> parameters, double beta1 = 0.9, double beta2 = 0.95,
        double eps = 1e-8, double weightDecay = 0.1)
    {
        (this.beta1, this.beta2, this.eps, this.weightDecay) = (beta1, beta2, eps, weightDecay);
        foreach (var (name, p) in parameters)
        {
            if (!p.requires_grad) continue;
            slots.Add((name, p, zeros_like(p).DetachFromDisposeScope(), zeros_like(p).DetachFromDisposeScope(), p.dim() >= 2));
        }
    }

    /// <summary>
    /// One update with learning rate <paramref name="lr"/> from the gradients now on the parameters; with
    /// <paramref name="include"/> only the parameters whose names it accepts (a step whose loss reaches only some of them:
    /// the others' gradients are zero, not absent, and their moments alone would still move them).
    /// </summary>
    public void Update(double lr, Func<string, bool>? include = null)
    {
        Step++;
        double bc1 = 1 - Math.Pow(beta1, Step), bc2 = 1 - Math.Pow(beta2, Step);
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        foreach (var (name, p, m, v, decay) in slots)
        {
            var g = p.grad;
            if (g is null || include?.Invoke(name) == false) continue;
            if (decay && weightDecay > 0) p.mul_(1 - lr * weightDecay);
            m.mul_(beta1).add_(g, alpha: 1 - beta1);
            v.mul_(beta2).addcmul_(g, g, value: 1 - beta2);
            var denom = v.div(bc2).sqrt_().add_(eps);
            p.addcdiv_(m, denom, value: -lr / bc1);
        }
    }

    /// <summary>Frees the moments (two tensors the size of each parameter, held outside any dispose scope).</summary>
    public void Dispose()
    {
        foreach (var (_, _, m, v, _) in slots)
        {
            m.Dispose();
            v.Dispose();
        }
        slots.Clear();
    }

    public void ZeroGrad()
    {
        foreach (var (_, p, _, _, _) in slots)
            p.grad?.zero_();
    }

    /// <summary>The moments keyed <c>exp_avg.&lt;param&gt;</c> / <c>exp_avg_sq.&lt;param&gt;</c>, plus the step count.</summary>
    public Dictionary<string, Tensor> State()
    {
        var state = new Dictionary<string, Tensor>();
        foreach (var (name, _, m, v, _) in slots)
        {
            state["exp_avg." + name] = m;
            state["exp_avg_sq." + name] = v;
        }
        state["step"] = tensor(new float[] { Step });
        return state;
    }

    /// <summary>Restores <see cref="State"/>; a missing or mis-shaped entry is an error naming it.</summary>
    public void Load(IReadOnlyDictionary<string, Tensor> state, string source)
    {
        using var noGrad = no_grad();
        foreach (var (name, _, m, v, _) in slots)
        {
            foreach (var (key, target) in new[] { ("exp_avg." + name, m), ("exp_avg_sq." + name, v) })
            {
                if (!state.TryGetValue(key, out var t))
                    throw new InvalidDataException($"{source}: missing optimizer tensor '{key}'");
                if (!t.shape.SequenceEqual(target.shape))
                    throw new InvalidDataException($"{source}: optimizer tensor '{key}' has shape [{string.Join(", ", t.shape)}], expected [{string.Join(", ", target.shape)}]");
                target.copy_(t.to(target.dtype, target.device));
            }
        }
        if (!state.TryGetValue("step", out var step))
            throw new InvalidDataException($"{source}: missing optimizer tensor 'step'");
        Step = (long)step.to(ScalarType.Float32).item<float>();
    }
}
