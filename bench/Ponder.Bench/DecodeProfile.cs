using Ponder.Policy;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Ponder.Bench;

/// <summary>
/// Where a decode step's time goes. Rows: each category of torch ops a (B, 1) decode step runs (the op sequence of
/// <see cref="Transformer"/>'s cached path with separate projections, and the generator's sampling), run alone at
/// the model's shapes on random tensors with a cache of <c>Context</c> columns, in microseconds per step summed over
/// layers; "(alt)" rows time alternatives; "=" rows time whole steps: the same op sequence written out on the
/// model's weights (with and without attention, which shows what reading the KV cache costs in place: the category
/// rows keep their inputs in the CPU caches and understate it), then the real model with separate and with fused
/// projections (<see cref="Transformer.FuseProjections"/>), and fused with the C# small-row linears
/// (<see cref="Transformer.SmallRowKernels"/>). Times are the process's CPU time, not wall time, so that
/// other jobs on a shared machine inflate them less (run with one torch thread).
/// </summary>
internal static class DecodeProfile
{
    private const int Context = 48;

    public static void Run(Transformer model, int[] batches, double secondsPerItem)
    {
        var c = model.Config;
        Console.WriteLine();
        Console.WriteLine($"Decode step profile (µs of process CPU time per step, {get_num_threads()} thread(s), cache of {Context} columns, hidden {c.HiddenSize}, {c.NumLayers} layers):");
        foreach (var b in batches)
        {
            var rows = Profile(model, b, secondsPerItem);
            Console.WriteLine();
            Console.WriteLine($"| batch {b} | µs per step | share |");
            Console.WriteLine("|---|---|---|");
            var total = rows.Where(r => !r.Name.StartsWith('=') && !r.Name.StartsWith('(')).Sum(r => r.Micros);
            foreach (var (name, micros) in rows)
                Console.WriteLine($"| {name} | {micros:F1} | {(name.StartsWith('=') || name.StartsWith('(') ? "" : $"{micros / total:P0}")} |");
            Console.WriteLine($"| sum of categories | {total:F1} | |");
        }
    }

    private static List<(string Name, double Micros)> Profile(Transformer model, int b, double seconds)
    {
        using var mode = inference_mode();
        using var scope = NewDisposeScope();
        var cfg = model.Config;
        var (l, nh, nkv, hs, C, I, V) = (cfg.NumLayers, cfg.NumHeads, cfg.NumKvHeads, cfg.HeadDim, cfg.HiddenSize, cfg.IntermediateSize, cfg.VocabSize);
        var g = nh / nkv;
        var x = randn(b, 1, C);                                                            // (B, 1, C)
        var normWeight = ones(C);
        Tensor W(long outF, long inF) => randn(outF, inF) * 0.02;
        var (wq, wk, wv, wo) = (W(nh * hs, C), W(nkv * hs, C), W(nkv * hs, C), W(C, nh * hs));
        var wqkv = cat([wq, wk, wv], 0);
        var (wgate, wup, wdown) = (W(I, C), W(I, C), W(C, I));
        var wgu = cat([wgate, wup], 0);
        var whead = W(V, C);
        var embed = randn(V, C);
        var keys = randn(b, nkv, Context + 1, hs);
        var values = randn(b, nkv, Context + 1, hs);
        var valid = ones(b, Context + 1, dtype: ScalarType.Bool);
        var cosTable = randn(cfg.MaxPositions, hs);
        var sinTable = randn(cfg.MaxPositions, hs);
        var positions = full(b, Context, ScalarType.Int64);
        var ids = randint(0, V, [b, 1]);
        var q = randn(b, nh, 1, hs);
        var k = randn(b, nkv, 1, hs);
        var cos = randn(b, 1, 1, hs);
        var sin = randn(b, 1, 1, hs);
        var bias = zeros(b, 1, g, Context + 1);
        var attnOut = randn(b, nh, 1, hs);
        var logits = randn(b, V);
        var options = new SamplingOptions { Temperature = 1.0, MaxNewTokens = 1, Seed = 1 };
        var rng = new UniformDraws(1);

        var rows = new List<(string, double)>();
        void Item(string name, int times, Action op) => rows.Add((name, times * Time(seconds, op)));

        Item("embedding", 1, () => embed.index_select(0, ids.view(-1)).view(b, 1, C));
        Item($"rms norm ×{2 * l + 1}", 2 * l + 1, () =>
        {
            var inv = x.pow(2).mean([-1L], keepdim: true).add_(1e-5).rsqrt_();
            _ = x * inv * normWeight;
        });
        Item($"q, k, v linears ×{l}", l, () =>
        {
            _ = F.linear(x, wq).view(b, 1, nh, hs).transpose(1, 2);
            _ = F.linear(x, wk).view(b, 1, nkv, hs).transpose(1, 2);
            _ = F.linear(x, wv).view(b, 1, nkv, hs).transpose(1, 2);
        });
        Item("rotary lookup", 1, () =>
        {
            var flat = positions.reshape(-1).clamp(0, cfg.MaxPositions - 1);
            _ = cosTable.index_select(0, flat).view(b, 1, 1, -1);
            _ = sinTable.index_select(0, flat).view(b, 1, 1, -1);
        });
        Item($"rotary apply ×{l}", l, () =>
        {
            _ = addcmul(q * cos, q.roll(hs / 2, -1), sin, 1);
            _ = addcmul(k * cos, k.roll(hs / 2, -1), sin, 1);
        });
        Item("positions + mask", 1, () =>
        {
            _ = positions.clone();
            positions.add_(0);
            valid.narrow(1, Context, 1).fill_(true);
            var mask = valid.view(b, 1, 1, Context + 1);
            var additive = zeros(mask.shape).masked_fill_(mask.logical_not(), double.NegativeInfinity);
            if (g > 1) additive = additive.repeat(1, 1, g, 1);
        });
        Item($"kv cache write ×{l}", l, () =>
        {
            keys.narrow(2, Context, 1).copy_(k);
            values.narrow(2, Context, 1).copy_(k);
            _ = keys.narrow(2, 0, Context + 1);
            _ = values.narrow(2, 0, Context + 1);
        });
        Item($"attention (sdpa) ×{l}", l, () =>
            _ = F.scaled_dot_product_attention(q.reshape(b, nkv, g, hs), keys, values, bias).view(b, nh, 1, hs));
        Item($"o_proj ×{l}", l, () => _ = F.linear(attnOut.transpose(1, 2).reshape(b, 1, nh * hs), wo));
        Item($"mlp (gate, up, silu, down) ×{l}", l, () => _ = F.linear(F.silu(F.linear(x, wgate)) * F.linear(x, wup), wdown));
        Item($"residual adds ×{2 * l}", 2 * l, () => _ = x + x);
        Item("lm head", 1, () => _ = F.linear(x.select(1, 0), whead));
        Item("sampler", 1, () => _ = Sampler.Sample(logits, options, rng));
        Item("(alt) sampler in libtorch ops", 1, () => _ = Sampler.WithTorch(logits, options, rng));
        Item("host copy of tokens", 1, () =>
        {
            var sample = logits.argmax(-1);
            _ = stack([sample.to(ScalarType.Float64), logits[.., 0].to(ScalarType.Float64)]).cpu().data<double>().ToArray();
        });
        Item($"(alt) q, k, v fused ×{l}", l, () =>
        {
            var qkv = F.linear(x, wqkv);
            var parts = qkv.split([nh * hs, nkv * hs, nkv * hs], -1);
            _ = parts[0].view(b, 1, nh, hs).transpose(1, 2);
            _ = parts[1].view(b, 1, nkv, hs).transpose(1, 2);
            _ = parts[2].view(b, 1, nkv, hs).transpose(1, 2);
        });
        Item($"(alt) mlp gate·up fused ×{l}", l, () =>
        {
            var gu = F.linear(x, wgu).chunk(2, -1);
            _ = F.linear(F.silu(gu[0]) * gu[1], wdown);
        });
        Item("(alt) one no-op torch call", 1, () => _ = x.alias());
        var bigKeys = randn(b, nkv, Context + 64, hs).narrow(2, 0, Context + 1);
        var bigValues = randn(b, nkv, Context + 64, hs).narrow(2, 0, Context + 1);
        Item($"(alt) sdpa on cache views ×{l}", l, () =>
            _ = F.scaled_dot_product_attention(q.reshape(b, nkv, g, hs), bigKeys, bigValues, bias).view(b, nh, 1, hs));
        var scale = 1 / Math.Sqrt(hs);
        Item($"(alt) attention as matmuls ×{l}", l, () =>
        {
            var scores = q.reshape(b, nkv, g, hs).matmul(bigKeys.transpose(2, 3)).mul_(scale).add_(bias);
            _ = scores.softmax(-1).matmul(bigValues).view(b, nh, 1, hs);
        });
        var norm = new RmsNorm(C, 1e-5);
        Item($"(alt) RmsNorm module ×{2 * l + 1}", 2 * l + 1, () => _ = norm.call(x));

        // The real thing: one (B, 1) forward of the model on a cache of Context columns, plus sampling and host copy.
        rows.Add(("= whole step, replayed (separate projections)", ReplayStep(model, b, seconds, options, rng, attention: true)));
        rows.Add(("= whole step, replayed, attention skipped", ReplayStep(model, b, seconds, options, rng, attention: false)));
        model.FuseProjections = false;
        rows.Add(("= whole step, real model, separate projections", RealStep(model, b, seconds, options, rng)));
        model.FuseProjections = true;
        model.SmallRowKernels = false;
        rows.Add(("= whole step, real model, fused projections", RealStep(model, b, seconds, options, rng)));
        model.SmallRowKernels = true;
        rows.Add(("= whole step, real model, fused projections + C# decode kernels", RealStep(model, b, seconds, options, rng)));
        return rows;
    }

    // Microseconds per (B, 1) forward of the model on a cache of Context columns, plus sampling and the host copy;
    // the cache is refilled (untimed) every 60 steps so that its length stays near Context.
    private static double RealStep(Transformer model, int b, double seconds, SamplingOptions options, UniformDraws rng)
    {
        var vocab = model.Config.VocabSize;
        var next = randint(0, vocab, [b, 1]);
        long calls = 0;
        var elapsed = TimeSpan.Zero;
        var round = 0;
        while (elapsed.TotalSeconds < seconds || round < 2)
        {
            using var cache = model.NewCache(b, Context + 64);
            using (NewDisposeScope()) model.Forward(randint(0, vocab, [b, Context]), cache);
            var clock = BenchClock.StartCpu();
            for (var i = 0; i < 60; i++)
            {
                using var s = NewDisposeScope();
                var logits = model.Forward(next, cache).select(1, 0);                         // (B, V)
                var sample = Sampler.Sample(logits, options, rng);
                _ = stack([sample.Tokens.to(ScalarType.Float64), sample.LogProbs.to(ScalarType.Float64)]).cpu().data<double>().ToArray();
            }
            if (round++ > 0) (elapsed, calls) = (elapsed + clock.Elapsed, calls + 60);   // the first round warms up
        }
        return elapsed.TotalMilliseconds * 1000 / calls;
    }

    // The op sequence of the real step with separate projections, written out with the model's own weights and a
    // private cache; without attention it shows what attention costs in place (reading the cache), which the
    // category rows, whose inputs stay in the CPU caches, understate.
    private static double ReplayStep(Transformer model, int b, double seconds, SamplingOptions options, UniformDraws rng, bool attention)
    {
        var cfg = model.Config;
        var (nh, nkv, hs, C) = (cfg.NumHeads, cfg.NumKvHeads, cfg.HeadDim, cfg.HiddenSize);
        var g = nh / nkv;
        var p = model.named_parameters().ToDictionary(x => x.name, x => (Tensor)x.parameter);
        var cosTable = randn(cfg.MaxPositions, hs);
        var sinTable = randn(cfg.MaxPositions, hs);
        var cap = Context + 64;
        var keys = Enumerable.Range(0, cfg.NumLayers).Select(_ => randn(b, nkv, cap, hs)).ToArray();
        var values = Enumerable.Range(0, cfg.NumLayers).Select(_ => randn(b, nkv, cap, hs)).ToArray();
        var valid = ones(b, cap, dtype: ScalarType.Bool);
        var positions = full(b, Context, ScalarType.Int64);
        var next = randint(0, cfg.VocabSize, [b, 1]);
        Tensor Norm(Tensor x, string w) => x * x.pow(2).mean([-1L], keepdim: true).add_(cfg.RmsNormEps).rsqrt_() * p[w];
        long calls = 0;
        var elapsed = TimeSpan.Zero;
        for (var round = 0; elapsed.TotalSeconds < seconds || round < 2; round++)
        {
            var clock = BenchClock.StartCpu();
            for (var length = Context; length < Context + 60; length++)
            {
                using var s = NewDisposeScope();
                var pos = positions.clone();
                positions.add_(1);
                valid.narrow(1, length, 1).fill_(true);
                var mask = valid.narrow(1, 0, length + 1).view(b, 1, 1, length + 1);
                var bias = zeros(mask.shape).masked_fill_(mask.logical_not(), double.NegativeInfinity);
                var flat = pos.reshape(-1).clamp(0, cfg.MaxPositions - 1);
                var cos = cosTable.index_select(0, flat).view(b, 1, 1, -1);
                var sin = sinTable.index_select(0, flat).view(b, 1, 1, -1);
                var x = p["model.embed_tokens.weight"].index_select(0, next.view(-1)).view(b, 1, C);
                for (var layer = 0; layer < cfg.NumLayers; layer++)
                {
                    using var ls = NewDisposeScope();
                    var pre = $"model.layers.{layer}.";
                    var h = Norm(x, pre + "input_layernorm.weight");
                    var q = F.linear(h, p[pre + "self_attn.q_proj.weight"]).view(b, 1, nh, hs).transpose(1, 2);
                    var k = F.linear(h, p[pre + "self_attn.k_proj.weight"]).view(b, 1, nkv, hs).transpose(1, 2);
                    var v = F.linear(h, p[pre + "self_attn.v_proj.weight"]).view(b, 1, nkv, hs).transpose(1, 2);
                    q = addcmul(q * cos, q.roll(hs / 2, -1), sin, 1);
                    k = addcmul(k * cos, k.roll(hs / 2, -1), sin, 1);
                    keys[layer].narrow(2, length, 1).copy_(k);
                    values[layer].narrow(2, length, 1).copy_(v);
                    var y = attention
                        ? F.scaled_dot_product_attention(q.reshape(b, nkv, g, hs), keys[layer].narrow(2, 0, length + 1),
                            values[layer].narrow(2, 0, length + 1), bias).view(b, nh, 1, hs)
                        : q;
                    x = x + F.linear(y.transpose(1, 2).reshape(b, 1, nh * hs), p[pre + "self_attn.o_proj.weight"]);
                    h = Norm(x, pre + "post_attention_layernorm.weight");
                    x = (x + F.linear(F.silu(F.linear(h, p[pre + "mlp.gate_proj.weight"])) * F.linear(h, p[pre + "mlp.up_proj.weight"]), p[pre + "mlp.down_proj.weight"])).MoveToOuterDisposeScope();
                }
                var logits = F.linear(Norm(x, "model.norm.weight"), p["lm_head.weight"]).select(1, 0);
                var sample = Sampler.Sample(logits, options, rng);
                _ = stack([sample.Tokens.to(ScalarType.Float64), sample.LogProbs.to(ScalarType.Float64)]).cpu().data<double>().ToArray();
            }
            positions.fill_(Context);
            valid.narrow(1, Context, 64).fill_(false);
            if (round > 0) (elapsed, calls) = (elapsed + clock.Elapsed, calls + 60);
        }
        return elapsed.TotalMilliseconds * 1000 / calls;
    }

    // Microseconds per call of op, run in a fresh dispose scope per call, after a warm-up.
    private static double Time(double seconds, Action op)
    {
        for (var i = 0; i < 20; i++)
        {
            using var s = NewDisposeScope();
            op();
        }
        long calls = 0;
        var clock = BenchClock.StartCpu();
        do
        {
            for (var i = 0; i < 20; i++)
            {
                using var s = NewDisposeScope();
                op();
            }
            calls += 20;
        } while (clock.Elapsed.TotalSeconds < seconds);
        return clock.Elapsed.TotalMilliseconds * 1000 / calls;
    }
}
