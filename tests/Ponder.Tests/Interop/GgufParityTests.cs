using Ponder.Interop;
using Ponder.Policy;
using TorchSharp;
using static TorchSharp.torch;

namespace Ponder.Tests.Interop;

/// <summary>
/// Parity with an independent implementation: llama.cpp (LLamaSharp, CPU) loads Ponder's exported GGUF, and its
/// next-token logits at every position of several prompts match Ponder's own forward pass.
/// </summary>
public sealed class GgufParityTests
{
    /// <summary>Max |Δlogit| allowed for an F32 file; observed 1.7e-5 (fp32 summation order only) on logits up to ~8.</summary>
    private const float F32Tolerance = 1e-3f;
    /// <summary>
    /// Max |Δlogit| for an F16 file against Ponder's F32 forward; observed 3.7e-2: F16 weights, and llama.cpp rounds
    /// activations to F16 inside its F16 matmuls (about 3 significant digits of logits up to ~8).
    /// </summary>
    private const float F16Tolerance = 1e-1f;

    private static readonly string[] Prompts = ["12+34=46", "#7*8\n3-9=-6", "Countdown: 3 5 7 -> 21", "a"];

    private static (Transformer Model, CharTokenizer Tokenizer) TinyModel(bool tied = false)
    {
        var tokenizer = new CharTokenizer();
        torch.manual_seed(7);
        var model = new Transformer(new TransformerConfig
        {
            VocabSize = tokenizer.VocabSize,
            HiddenSize = 64,
            IntermediateSize = 96,
            NumLayers = 2,
            NumHeads = 4,
            NumKvHeads = 2,            // grouped-query attention: k rows are permuted per kv head
            MaxPositions = 64,
            RopeTheta = 500.0,         // a small base turns the rotary angles fast, so a wrong pairing shows
            InitializerRange = 0.3,    // peaky logits (magnitude ~10), so the tolerance is meaningful
            TieWordEmbeddings = tied,
            BosTokenId = tokenizer.Bos,
            EosTokenId = tokenizer.Eos,
            PadTokenId = tokenizer.Pad,
        });
        model.eval();
        return (model, tokenizer);
    }

    private static (float MaxDiff, float MaxLogit) Compare(Transformer model, CharTokenizer tokenizer, string gguf)
    {
        using var llama = new LlamaCpp(gguf);
        Assert.Equal(model.Config.VocabSize, llama.VocabSize);
        float maxDiff = 0, maxLogit = 0;
        foreach (string prompt in Prompts)
        {
            using var scope = NewDisposeScope();
            int[] tokens = Prompting.Encode(tokenizer, prompt);
            using var noGrad = no_grad();
            var ours = model.call(tensor(tokens.Select(t => (long)t).ToArray()).unsqueeze(0)).squeeze(0);   // (T, V)
            var theirs = tensor(llama.Logits(tokens)).view(tokens.Length, -1);                                // (T, V)
            maxDiff = Math.Max(maxDiff, (ours - theirs).abs().max().item<float>());
            maxLogit = Math.Max(maxLogit, ours.abs().max().item<float>());
        }
        return (maxDiff, maxLogit);
    }

    [Fact]
    public void Llama_cpp_logits_match_ponder_forward_for_f32_export()
    {
        var (model, tokenizer) = TinyModel();
        using var dir = new TempDirectory();
        string path = dir.File("tiny-f32.gguf");
        GgufExport.Write(path, model, tokenizer, GgufTensorType.F32);

        var (diff, magnitude) = Compare(model, tokenizer, path);

        Console.WriteLine($"GGUF F32 parity: max |Δlogit| = {diff:E2} over logits up to {magnitude:F1}");
        Assert.True(magnitude > 3, $"logits too small ({magnitude}) for the tolerance to mean anything");
        Assert.True(diff <= F32Tolerance, $"F32: max |Δlogit| {diff} > {F32Tolerance}");
    }

    [Fact]
    public void Llama_cpp_logits_match_ponder_forward_for_f16_export_with_tied_embeddings()
    {
        var (model, tokenizer) = TinyModel(tied: true);
        using var dir = new TempDirectory();
        string path = dir.File("tiny-f16.gguf");
        GgufExport.Write(path, model, tokenizer, GgufTensorType.F16);

        var (diff, _) = Compare(model, tokenizer, path);

        Console.WriteLine($"GGUF F16 parity: max |Δlogit| = {diff:E2}");
        Assert.True(diff <= F16Tolerance, $"F16: max |Δlogit| {diff} > {F16Tolerance}");
        Assert.True(new FileInfo(path).Length < 0.6 * EstimatedF32Bytes(model), "F16 file is not about half the F32 size");
    }

    [Fact]
    public void Without_the_rotary_permutation_llama_cpp_disagrees()
    {
        var (model, tokenizer) = TinyModel();
        using var dir = new TempDirectory();
        string path = dir.File("unpermuted.gguf");
        GgufExport.Write(path, model, tokenizer, GgufTensorType.F32, "ponder", permuteRotary: false);

        var (diff, _) = Compare(model, tokenizer, path);

        Console.WriteLine($"GGUF without rotary permutation: max |Δlogit| = {diff:E2}");
        Assert.True(diff > 100 * F32Tolerance, $"unpermuted q/k still matched (max |Δlogit| {diff}): the parity test could not catch a rotary mix-up");
    }

    [Fact]
    public void Llama_cpp_tokenizes_text_as_the_char_tokenizer_does()
    {
        var (model, tokenizer) = TinyModel();
        using var dir = new TempDirectory();
        string path = dir.File("tok.gguf");
        GgufExport.Write(path, model, tokenizer, GgufTensorType.F32);
        using var llama = new LlamaCpp(path);

        foreach (string text in Prompts.Append("x = (1 + 2) * 3\n#9"))
            Assert.Equal(tokenizer.Encode(text), llama.Tokenize(text));
    }

    private static long EstimatedF32Bytes(Transformer model) => model.ParameterCount * 4;
}
