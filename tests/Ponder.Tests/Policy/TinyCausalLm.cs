using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ponder.Tests.Policy;

/// <summary>
/// A stand-in for the real transformer with Hugging Face parameter names:
/// <c>model.embed_tokens.weight</c>, <c>model.layers.{i}.mlp.up_proj.weight</c>,
/// <c>model.norm.weight</c>/<c>bias</c>, <c>lm_head.weight</c>.
/// </summary>
internal sealed class TinyCausalLm : nn.Module<Tensor, Tensor>
{
    private readonly Body model;
    private readonly Linear lm_head;

    public TinyCausalLm(int vocab, int hidden, int layers = 2) : base(nameof(TinyCausalLm))
    {
        model = new Body(vocab, hidden, layers);
        lm_head = nn.Linear(hidden, vocab, hasBias: false);
        RegisterComponents();
    }

    public override Tensor forward(Tensor ids) => lm_head.call(model.call(ids));   // (B, T) → (B, T, V)

    private sealed class Body : nn.Module<Tensor, Tensor>
    {
        private readonly Embedding embed_tokens;
        private readonly ModuleList<Sequential> layers;
        private readonly LayerNorm norm;

        public Body(int vocab, int hidden, int count) : base(nameof(Body))
        {
            embed_tokens = nn.Embedding(vocab, hidden);
            layers = nn.ModuleList(Enumerable.Range(0, count)
                .Select(_ => nn.Sequential(("mlp", nn.Sequential(("up_proj", nn.Linear(hidden, hidden, hasBias: false))))))
                .ToArray());
            norm = nn.LayerNorm(hidden);
            RegisterComponents();
        }

        public override Tensor forward(Tensor ids)
        {
            var x = embed_tokens.call(ids);   // (B, T, C)
            foreach (var layer in layers)
                x = x + layer.call(x);
            return norm.call(x);
        }
    }
}
