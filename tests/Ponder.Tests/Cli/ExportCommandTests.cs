using System.Buffers.Binary;
using Ponder.Cli;
using Ponder.Interop;
using Ponder.Policy;
using Ponder.Tests.Interop;
using Ponder.Tests.Policy;
using static TorchSharp.torch;

namespace Ponder.Tests.Cli;

public sealed class ExportCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static (int Code, string Error) Run(params string[] args) => CliRun.Run(args);

    private string PonderCheckpoint()
    {
        string dir = Path.Combine(_dir.Path, "ckpt");
        var tokenizer = new CharTokenizer();
        using var model = TinyModels.Model(tokenizer.VocabSize, seed: 3);
        Checkpoint.Save(dir, model.Config, model, tokenizer, new CheckpointState { Task = "arith" });
        return dir;
    }

    [Fact]
    public void Gguf_export_writes_a_gguf_v3_file_that_llama_cpp_loads()
    {
        string checkpoint = PonderCheckpoint();
        string output = _dir.File("out/model.gguf");

        var (code, error) = Run("export", "--format", "gguf", "--checkpoint", checkpoint, "--out", output, "--dtype", "f16");

        Assert.True(code == 0, error);
        byte[] head = File.ReadAllBytes(output)[..8];
        Assert.Equal("GGUF"u8.ToArray(), head[..4]);
        Assert.Equal(3u, BinaryPrimitives.ReadUInt32LittleEndian(head.AsSpan(4)));
        using var llama = new LlamaCpp(output);
        Assert.Equal(new CharTokenizer().VocabSize, llama.VocabSize);
    }

    [Fact]
    public void Safetensors_export_keeps_every_end_of_sequence_id_the_source_lists()
    {
        HfFolders.Llama(_dir.Path);
        string output = Path.Combine(_dir.Path, "exported");

        var (code, error) = Run("export", "--format", "safetensors", "--checkpoint", _dir.Path, "--out", output);

        Assert.True(code == 0, error);
        var ids = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(output, "config.json")))!["eos_token_id"]!.AsArray();
        Assert.Equal([TinyBpe.Id("<|end_of_text|>"), TinyBpe.Id("<|eot_id|>")], ids.Select(n => n!.GetValue<int>()));
        Assert.Equal(TinyBpe.Id("<|end_of_text|>"), HfCheckpoint.Load(output, CPU).Model.Config.EosTokenId);
    }

    [Fact]
    public void Safetensors_export_of_an_imported_folder_round_trips_in_f16()
    {
        HfFolders.Qwen2(_dir.Path);
        string output = Path.Combine(_dir.Path, "exported");

        var (code, error) = Run("export", "--format", "safetensors", "--checkpoint", _dir.Path, "--out", output, "--dtype", "f16");

        Assert.True(code == 0, error);
        var source = HfCheckpoint.Load(_dir.Path, CPU);
        var exported = HfCheckpoint.Load(output, CPU);
        using var reader = SafetensorsReader.Open(Path.Combine(output, "model.safetensors"));
        Assert.All(reader.Entries.Values, e => Assert.Equal(SafetensorsDType.F16, e.DType));
        Assert.True(exported.Model.Config.AttentionBias);
        Assert.Equal(ChatTemplateKind.ChatMl, Assert.IsType<ByteLevelBpeTokenizer>(exported.Tokenizer).ChatTemplate.Kind);
        using var scope = NewDisposeScope();
        int[] tokens = [5, 17, 260, 42];
        Assert.True(TinyModels.MaxAbsDiff(TinyModels.FullLogits(source.Model, tokens), TinyModels.FullLogits(exported.Model, tokens)) < 0.1f);
    }

    [Theory]
    [InlineData("onnx", "f32", "--format must be safetensors or gguf")]
    [InlineData("gguf", "bf16", "--dtype must be f32 or f16 for gguf")]
    public void Bad_format_or_dtype_is_a_usage_error(string format, string dtype, string expected)
    {
        var (code, error) = Run("export", "--format", format, "--checkpoint", "c", "--out", "o", "--dtype", dtype);

        Assert.Equal(2, code);
        Assert.Contains(expected, error);
    }
}
