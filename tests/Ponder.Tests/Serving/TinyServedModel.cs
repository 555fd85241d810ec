using System.Text.Json.Nodes;
using Ponder.Policy;
using Ponder.Serving;
using static TorchSharp.torch;

namespace Ponder.Tests.Serving;

/// <summary>
/// Tiny char-level policies for server tests, built as bigram models inside a real transformer checkpoint:
/// attention and MLP outputs are zero, so the residual stream is the current token's one-hot embedding and the
/// head maps it to a chosen next-token distribution. After a newline the policy often writes '#' and then an
/// answer digit (4 most often, then 7 and 9), so votes have repeated answers to count.
/// </summary>
internal static class TinyServedModel
{
    public const string Problem = "347 +128 *3 -219";

    /// <summary>Saves the policy under <paramref name="dir"/>; an <paramref name="endless"/> one never writes EOS.</summary>
    public static string Save(TempDirectory dir, int maxPositions = 96, bool endless = false)
    {
        var tokenizer = Tokenizer();
        var config = new TransformerConfig
        {
            VocabSize = tokenizer.VocabSize, HiddenSize = 32, NumLayers = 1, NumHeads = 2, NumKvHeads = 1, IntermediateSize = 64,
            MaxPositions = maxPositions, BosTokenId = tokenizer.Bos, EosTokenId = tokenizer.Eos, PadTokenId = tokenizer.Pad,
        };
        using var model = new Transformer(config);
        var p = model.named_parameters().ToDictionary(x => x.name, x => x.parameter);
        using (no_grad())
        {
            p["model.layers.0.self_attn.o_proj.weight"].zero_();
            p["model.layers.0.mlp.down_proj.weight"].zero_();
            p["model.embed_tokens.weight"].copy_(eye(config.VocabSize, config.HiddenSize));
            p["lm_head.weight"].copy_(tensor(Head(tokenizer, endless), [config.VocabSize, config.HiddenSize]) / Math.Sqrt(config.HiddenSize));
        }
        string path = dir.File($"tiny-{maxPositions}{(endless ? "-endless" : "")}");
        Checkpoint.Save(path, config, model, tokenizer, new CheckpointState { Task = "arith", Kind = "policy" });
        return path;
    }

    public static LocalPolicy Load(string checkpoint, int maxBatch = 64, int pieceTokens = 8)
    {
        var loaded = LoadedPolicy.Load(checkpoint, CPU);
        return new LocalPolicy(new Ponder.Policy.Generator(loaded.Model, loaded.Tokenizer), maxBatch, pieceTokens);
    }

    /// <summary>Starts a server named "tiny" on a free loopback port; dispose it to stop.</summary>
    public static Task<PonderServer> Serve(LocalPolicy policy, ServerOptions? options = null) =>
        PonderServer.StartAsync(policy, (options ?? new ServerOptions()) with { Host = "127.0.0.1", Port = 0, ModelName = "tiny" });

    /// <summary>
    /// A server of the endless policy whose high effort is a search far longer than any test (a million samples), with
    /// at most <paramref name="maxQueue"/> requests waiting (default: the server's); dispose it to stop.
    /// </summary>
    public static Task<PonderServer> ServeEndlessSearch(TempDirectory dir, int? maxQueue = null)
    {
        var options = new ServerOptions { Effort = new EffortSettings { High = EffortPlan.Parse("best-of-n:1000000") } };
        return Serve(Load(Save(dir, maxPositions: 160, endless: true)), maxQueue is { } limit ? options with { MaxQueue = limit } : options);
    }

    /// <summary>Head weights (V, C): column <c>i</c> holds the next-token logits after token <c>i</c> (one-hot hidden state).</summary>
    private static float[] Head(CharTokenizer tokenizer, bool endless)
    {
        int v = tokenizer.VocabSize, c = 32;
        var logits = new float[v * c];
        Array.Fill(logits, -12f);
        int Id(char ch) => tokenizer.Encode(ch.ToString())[0];
        void Next(int from, params (int To, double P)[] next)
        {
            foreach (var (to, prob) in next) logits[to * c + from] = (float)Math.Log(prob);
        }
        int eos = tokenizer.Eos;
        Next(Id('\n'), (Id('#'), 0.5), (Id('1'), 0.25), (Id('2'), 0.25));
        Next(Id('#'), (Id('4'), 0.5), (Id('7'), 0.3), (Id('9'), 0.2));
        foreach (char digit in "0123456789")
            Next(Id(digit), endless ? [(Id('\n'), 0.4), (Id('1'), 0.3), (Id('2'), 0.3)] : [(eos, 0.45), (Id('\n'), 0.25), (Id('1'), 0.15), (Id('2'), 0.15)]);
        if (endless)        // EOS out of reach from every token, not only improbable (at −12 it came about once in 40,000 tokens)
            for (int from = 0; from < v; from++) logits[eos * c + from] = -10_000f;
        return logits;
    }

    private static CharTokenizer Tokenizer()
    {
        var json = JsonNode.Parse(new CharTokenizer().ToJson())!;
        var vocab = new JsonObject();
        string[] tokens = [CharTokenizer.PadToken, CharTokenizer.BosToken, CharTokenizer.EosToken, CharTokenizer.UnkToken, "\n",
            .. "#0123456789 +-*revis:".Select(ch => ch.ToString())];   // letters: a reviser's "revise:" line
        for (int id = 0; id < tokens.Length; id++) vocab[tokens[id]] = id;
        json["model"]!["vocab"] = vocab;
        return CharTokenizer.FromJson(json.ToJsonString());
    }
}
