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
/// Weight decay λ applies to matrices only (norm gains and biases are not decayed). Each parameter counts its own
/// updates (t of its bias corrections), as PyTorch's does: an update that leaves some out does not age their moments.
/// </summary>
public sealed class AdamW : IDisposable
{
    readonly List<(string Name, Tensor Param, Tensor M, Tensor V, bool Decay)> slots = [];
    readonly List<long> steps = [];   // updates of each slot
    readonly double beta1, beta2, eps, weightDecay;

    /// <summary>Optimizer updates taken (every parameter's t unless some updates left it out).</summary>
    public long Step { get; private set; }

    public AdamW(IEnumerable<(string Name, Tensor Param)> parameters, double beta1 = 0.9, double beta2 = 0.95,
        double eps = 1e-8, double weightDecay = 0.1)
    {
        (this.beta1, this.beta2, this.eps, this.weightDecay) = (beta1, beta2, eps, weightDecay);
        foreach (var (name, p) in parameters)
        {
            if (!p.requires_grad) continue;
            slots.Add((name, p, zeros_like(p).DetachFromDisposeScope(), zeros_like(p).DetachFromDisposeScope(), p.dim() >= 2));
            steps.Add(0);
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
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        for (int i = 0; i < slots.Count; i++)
        {
            var (name, p, m, v, decay) = slots[i];
            var g = p.grad;
            if (g is null || include?.Invoke(name) == false) continue;
            long t = ++steps[i];
            double bc1 = 1 - Math.Pow(beta1, t), bc2 = 1 - Math.Pow(beta2, t);
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
        steps.Clear();
    }

    public void ZeroGrad()
    {
        foreach (var (_, p, _, _, _) in slots)
            p.grad?.zero_();
    }

    /// <summary>
    /// The moments keyed <c>exp_avg.&lt;param&gt;</c> / <c>exp_avg_sq.&lt;param&gt;</c>, the update count <c>step</c>, and
    /// <c>step.&lt;param&gt;</c> for a parameter that some updates left out (its own count; absent: <c>step</c>).
    /// </summary>
    public Dictionary<string, Tensor> State()
    {
        var state = new Dictionary<string, Tensor>();
        for (int i = 0; i < slots.Count; i++)
        {
            var (name, _, m, v, _) = slots[i];
            state["exp_avg." + name] = m;
            state["exp_avg_sq." + name] = v;
            if (steps[i] != Step) state["step." + name] = tensor(new double[] { steps[i] });
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
        for (int i = 0; i < slots.Count; i++)
            steps[i] = state.TryGetValue("step." + slots[i].Name, out var own) ? (long)own.to(ScalarType.Float64).item<double>() : Step;
    }
}
