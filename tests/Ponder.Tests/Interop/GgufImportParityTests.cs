using Ponder.Interop;
using Ponder.Policy;
using Ponder.Tests.Policy;
using static TorchSharp.torch;

namespace Ponder.Tests.Interop;

/// <summary>
/// Imported Hugging Face folders, exported to GGUF, agree with llama.cpp: logits (explicit head_dim; Qwen2 biases,
/// which take the same rotary permutation) and tokenization (the BPE vocabulary, merges and pre-tokenizer).
/// </summary>
public sealed class GgufImportParityTests : IDisposable
{
    private const float F32Tolerance = 1e-3f;
    private static readonly string[] Texts = ["hello world the 1234", "héllo, wörld!\n  the end 56789", "don't THE world's"];

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private float MaxDiff(LoadedPolicy policy, string gguf)
    {
        using var llama = new LlamaCpp(gguf);
        float diff = 0;
        foreach (string text in Texts)
        {
            using var scope = NewDisposeScope();
            int[] tokens = Prompting.Encode(policy.Tokenizer, text);
            var ours = TinyModels.FullLogits(policy.Model, tokens);                          // (T, V)
            var theirs = tensor(llama.Logits(tokens)).view(tokens.Length, -1);               // (T, V)
            diff = Math.Max(diff, TinyModels.MaxAbsDiff(ours, theirs));
        }
        return diff;
    }

    [Fact]
    public void Imported_llama_with_explicit_head_dim_matches_llama_cpp()
    {
        HfFolders.Llama(_dir.Path);
        var policy = HfCheckpoint.Load(_dir.Path, CPU);
        string gguf = _dir.File("llama.gguf");
        GgufExport.Write(gguf, policy.Model, policy.Tokenizer, GgufTensorType.F32);

        float diff = MaxDiff(policy, gguf);

        Console.WriteLine($"imported Llama → GGUF F32: max |Δlogit| = {diff:E2}");
        Assert.True(diff <= F32Tolerance, $"max |Δlogit| {diff} > {F32Tolerance}");
    }

    [Fact]
    public void Imported_qwen2_with_qkv_biases_matches_llama_cpp()
    {
        HfFolders.Qwen2(_dir.Path);
        var policy = HfCheckpoint.Load(_dir.Path, CPU);
        string gguf = _dir.File("qwen2.gguf");
        GgufExport.Write(gguf, policy.Model, policy.Tokenizer, GgufTensorType.F32);

        float diff = MaxDiff(policy, gguf);

        Console.WriteLine($"imported Qwen2 → GGUF F32: max |Δlogit| = {diff:E2}");
        Assert.True(diff <= F32Tolerance, $"max |Δlogit| {diff} > {F32Tolerance}");
    }

    [Theory]
    // original context 64 and high_freq_factor 8: one frequency kept, two blended, five divided (head_dim 16, theta 500)
    [InlineData("{\"rope_type\": \"llama3\", \"factor\": 4.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": 8.0, \"original_max_position_embeddings\": 64}")]
    [InlineData("{\"type\": \"linear\", \"factor\": 4.0}")]
    // original context 16 over head_dim 16, theta 500: a ramp over dimensions 0 to 2, and cos and sin scaled by 1.139
    [InlineData("{\"type\": \"yarn\", \"factor\": 4.0, \"original_max_position_embeddings\": 16}")]
    public void Imported_llama_with_rope_scaling_matches_llama_cpp(string scaling)
    {
        // Given a Llama folder whose rotary is scaled, and the same weights unscaled exported beside it
        HfFolders.Llama(_dir.Path);
        var plain = HfCheckpoint.Load(_dir.Path, CPU);
        string plainGguf = _dir.File("plain.gguf");
        GgufExport.Write(plainGguf, plain.Model, plain.Tokenizer, GgufTensorType.F32);
        string config = _dir.File("config.json");
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"rope_scaling\": null", "\"rope_scaling\": " + scaling));
        var policy = HfCheckpoint.Load(_dir.Path, CPU);
        Assert.NotNull(policy.Model.Config.RopeScaling);

        // When it is exported (rope_freqs divisors for llama3, rope.scaling metadata for linear)
        string gguf = _dir.File("scaled.gguf");
        GgufExport.Write(gguf, policy.Model, policy.Tokenizer, GgufTensorType.F32);

        // Then llama.cpp computes its logits, and not the unscaled model's
        float diff = MaxDiff(policy, gguf);
        float unscaled = MaxDiff(policy, plainGguf);
        Console.WriteLine($"rope-scaled Llama → GGUF F32: max |Δlogit| = {diff:E2} (against the unscaled export {unscaled:E2})");
        Assert.True(diff <= F32Tolerance, $"max |Δlogit| {diff} > {F32Tolerance}");
        Assert.True(unscaled > 100 * F32Tolerance, $"the scaling changed the logits by only {unscaled}: the parity could not catch a missing scaling");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Llama_cpp_tokenizes_like_the_bpe_tokenizer(bool qwen)
    {
        if (qwen) HfFolders.Qwen2(_dir.Path);
        else HfFolders.Llama(_dir.Path);
        var policy = HfCheckpoint.Load(_dir.Path, CPU);
        string gguf = _dir.File("tok.gguf");
        GgufExport.Write(gguf, policy.Model, policy.Tokenizer, GgufTensorType.F16);
        using var llama = new LlamaCpp(gguf);

        foreach (string text in Texts)
            Assert.Equal(policy.Tokenizer.Encode(text), llama.Tokenize(text));
    }
}
