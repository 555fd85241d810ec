using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Ponder.Policy;

/// <summary>
/// One token per character, for the built-in tasks. The default vocabulary is
/// <c>&lt;pad&gt;</c>=0, <c>&lt;s&gt;</c>=1, <c>&lt;/s&gt;</c>=2, <c>&lt;unk&gt;</c>=3, then
/// <c>'\n'</c>=4, then printable ASCII 32..126 (100 tokens). Its <c>tokenizer.json</c> is a
/// Hugging Face WordLevel model behind a one-character Split, so transformers reads it too.
/// </summary>
public sealed class CharTokenizer : ITokenizer
{
    public const string PadToken = "<pad>";
    public const string BosToken = "<s>";
    public const string EosToken = "</s>";
    public const string UnkToken = "<unk>";

    private static readonly string[] Specials = [PadToken, BosToken, EosToken, UnkToken];

    /// <summary>Matches every single character, newline included, in Oniguruma (HF tokenizers) and .NET alike.</summary>
    private const string OneCharacter = @"[\s\S]";

    private readonly string[] _tokens;                 // id → token text
    private readonly Dictionary<char, int> _ids;       // character → id

    private CharTokenizer(string[] tokens)
    {
        _tokens = tokens;
        _ids = [];
        for (int id = 0; id < tokens.Length; id++)
        {
            if (!Specials.Contains(tokens[id]))
                _ids.Add(tokens[id][0], id);
        }
        Pad = Array.IndexOf(tokens, PadToken);
        Bos = Array.IndexOf(tokens, BosToken);
        Eos = Array.IndexOf(tokens, EosToken);
        Unk = Array.IndexOf(tokens, UnkToken);
    }

    /// <summary>The default 100-token vocabulary: specials, newline, printable ASCII.</summary>
    public CharTokenizer()
        : this([.. Specials, "\n", .. Enumerable.Range(32, 126 - 32 + 1).Select(c => ((char)c).ToString())])
    {
    }

    public int VocabSize => _tokens.Length;
    public int Bos { get; }
    public int Eos { get; }
    public int Pad { get; }
    public int Unk { get; }

    public int[] Encode(string text)
    {
        var ids = new int[text.Length];
        for (int i = 0; i < text.Length; i++)
        {
            if (!_ids.TryGetValue(text[i], out ids[i]))
                throw new ArgumentException($"character {Describe(text[i])} at position {i} is not in the vocabulary (in \"{Snippet(text)}\")", nameof(text));
        }
        return ids;
    }

    public string Decode(ReadOnlySpan<int> ids)
    {
        var text = new StringBuilder(ids.Length);
        for (int i = 0; i < ids.Length; i++)
        {
            int id = ids[i];
            if ((uint)id >= (uint)_tokens.Length)
                throw new ArgumentOutOfRangeException(nameof(ids), $"token id {id} at position {i} is outside the vocabulary of {_tokens.Length}");
            if (!IsSpecial(id))
                text.Append(_tokens[id]);
        }
        return text.ToString();
    }

    public bool IsSpecial(int id) => id == Pad || id == Bos || id == Eos || id == Unk;

    public string ToJson()
    {
        var addedTokens = new JsonArray();
        foreach (string special in Specials)
        {
            addedTokens.Add(new JsonObject
            {
                ["id"] = Array.IndexOf(_tokens, special),
                ["content"] = special,
                ["single_word"] = false,
                ["lstrip"] = false,
                ["rstrip"] = false,
                ["normalized"] = false,
                ["special"] = true,
            });
        }
        var vocab = new JsonObject();
        for (int id = 0; id < _tokens.Length; id++)
            vocab[_tokens[id]] = id;
        var root = new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = addedTokens,
            ["normalizer"] = null,
            ["pre_tokenizer"] = new JsonObject
            {
                ["type"] = "Split",
                ["pattern"] = new JsonObject { ["Regex"] = OneCharacter },
                ["behavior"] = "Isolated",
                ["invert"] = false,
            },
            ["post_processor"] = null,
            // Without a decoder, HF joins tokens with spaces; Fuse concatenates them.
            ["decoder"] = new JsonObject { ["type"] = "Fuse" },
            ["model"] = new JsonObject
            {
                ["type"] = "WordLevel",
                ["vocab"] = vocab,
                ["unk_token"] = UnkToken,
            },
        };
        return root.ToJsonString(new JsonSerializerOptions
        {
            WriteIndented = true,
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        });
    }

    /// <summary>Reads a <c>tokenizer.json</c> written by <see cref="ToJson"/> (or any WordLevel one whose entries are single characters and the four specials).</summary>
    public static CharTokenizer FromJson(string json) => FromJson(json, "tokenizer.json");

    internal static CharTokenizer FromJson(string json, string source)
    {
        JsonNode? root;
        try
        {
            // A repeated vocab key would otherwise surface later as a bare ArgumentException.
            root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false });
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source}: not valid JSON: {e.Message.ReplaceLineEndings(" ")}", e);
        }
        if (root is not JsonObject { } rootObject || rootObject["model"] is not JsonObject model)
            throw new InvalidDataException($"{source}: no 'model' object");
        string? type = model["type"] is JsonValue typeValue && typeValue.TryGetValue(out string? t) ? t : null;
        if (type != "WordLevel")
            throw new InvalidDataException($"{source}: model type '{type}' is not WordLevel");
        if (model["vocab"] is not JsonObject vocab)
            throw new InvalidDataException($"{source}: model has no 'vocab' object");

        var tokens = new string?[vocab.Count];
        foreach (var (token, idNode) in vocab)
        {
            if (idNode is not JsonValue idValue || !idValue.TryGetValue(out int id) || id < 0 || id >= tokens.Length)
                throw new InvalidDataException($"{source}: vocab entry '{token}' has id {idNode?.ToJsonString()}, expected 0..{tokens.Length - 1}");
            if (token.Length != 1 && !Specials.Contains(token))
                throw new InvalidDataException($"{source}: vocab entry '{token}' (id {id}) is neither one character nor one of {string.Join(" ", Specials)}");
            if (tokens[id] is { } other)
                throw new InvalidDataException($"{source}: vocab entries '{other}' and '{token}' share id {id}");
            tokens[id] = token;
        }
        foreach (string special in Specials)
        {
            if (!vocab.ContainsKey(special))
                throw new InvalidDataException($"{source}: vocab lacks the special token '{special}'");
        }
        string? unk = model["unk_token"] is JsonValue unkValue && unkValue.TryGetValue(out string? u) ? u : null;
        if (unk is not null && unk != UnkToken)
            throw new InvalidDataException($"{source}: unk_token is '{unk}', expected '{UnkToken}'");
        return new CharTokenizer(tokens!);
    }

    // The start of a text, on one line, for an error message.
    private static string Snippet(string text)
    {
        string line = text.ReplaceLineEndings(" ");
        return line.Length <= 60 ? line : line[..57] + "...";
    }

    private static string Describe(char c) =>
        char.IsControl(c) || char.IsWhiteSpace(c) || c > '~' ? $"U+{(int)c:X4}" : $"'{c}'";
}
