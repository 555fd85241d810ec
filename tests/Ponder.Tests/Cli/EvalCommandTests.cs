using System.Text.Json.Nodes;
using Ponder.Cli;
using Ponder.Policy;

namespace Ponder.Tests.Cli;

public sealed class EvalCommandTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>An untrained arith policy with the built-in character tokenizer.</summary>
    private string Untrained()
    {
        var tokenizer = new CharTokenizer();
        var config = new TransformerConfig
        {
            VocabSize = tokenizer.VocabSize, HiddenSize = 32, NumLayers = 1, NumHeads = 2, NumKvHeads = 1, IntermediateSize = 64,
            MaxPositions = 160, BosTokenId = tokenizer.Bos, EosTokenId = tokenizer.Eos, PadTokenId = tokenizer.Pad,
        };
        using var model = new Transformer(config);
        string checkpoint = _dir.File("untrained");
        Checkpoint.Save(checkpoint, config, model, tokenizer, new CheckpointState { Task = "arith", Kind = "policy" });
        return checkpoint;
    }

    [Fact]
    public void Divergence_adds_where_greedy_leaves_the_gold_solutions_to_the_json()
    {
        // Given an untrained arith policy, which solves none of its problems (and whose greedy completions run past
        // the gold solutions' length, so each leaves them somewhere)
        string checkpoint = Untrained(), json = _dir.File("eval.json");

        // When it is evaluated with --divergence
        Assert.Equal(0, EvalCommand.Run(["--checkpoint", checkpoint, "--count", "6", "--samples", "0", "--divergence", "--json", json]));

        // Then the JSON holds the eval's keys and a divergence point for each of the six wrong completions
        var output = JsonNode.Parse(File.ReadAllText(json))!;
        Assert.Equal(0.0, (double)output["greedy"]!);
        var divergence = output["divergence"]!;
        Assert.Equal((6, 6, 6), ((int)divergence["problems"]!, (int)divergence["greedy_wrong"]!, (int)divergence["measured"]!));
        Assert.InRange((double)divergence["median_p_greedy"]!, (double)divergence["median_p_gold"]!, 1.0);

        // And with itself as the reference, it rescores the same six points with the same probabilities
        Assert.Equal(0, EvalCommand.Run(["--checkpoint", checkpoint, "--count", "6", "--samples", "0", "--divergence",
            "--divergence-reference", checkpoint, "--json", json]));
        var rescored = JsonNode.Parse(File.ReadAllText(json))!["divergence_at_reference"]!;
        Assert.Equal(6, (int)rescored["points"]!);
        Assert.Equal((double)rescored["reference_median_p_gold"]!, (double)rescored["median_p_gold"]!);
    }

    [Fact]
    public void Divergence_reference_with_another_tokenizer_is_a_clear_error_naming_it()
    {
        string checkpoint = Untrained(), reference = Serving.TinyServedModel.Save(_dir);
        var e = Assert.Throws<InvalidDataException>(() => EvalCommand.Run(["--checkpoint", checkpoint, "--count", "2", "--samples", "0",
            "--divergence", "--divergence-reference", reference]));
        Assert.Contains(reference, e.Message);
        Assert.Contains("tokenizer differs", e.Message);
    }

    [Fact]
    public void Divergence_reference_without_divergence_is_a_usage_error()
    {
        var e = Assert.Throws<UsageException>(() => EvalCommand.Run(["--checkpoint", "/nonexistent", "--divergence-reference", "/nonexistent"]));
        Assert.Contains("--divergence-reference needs --divergence", e.Message);
    }
}
