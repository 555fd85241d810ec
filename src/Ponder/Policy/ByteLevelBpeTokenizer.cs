using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace Ponder.Policy;

/// <summary>
/// Byte-level BPE from a Hugging Face <c>tokenizer.json</c> (GPT-2, Llama 3, Qwen2). Encoding: added tokens are
/// matched verbatim first (longest first); the text between them is normalized (NFC if asked), split by the
/// pre-tokenizer regexes, and each piece is byte-level BPE-encoded by Microsoft.ML.Tokenizers with the file's
/// vocabulary and merges. Decoding maps each token back to its bytes and skips special tokens.
/// </summary>
public sealed class ByteLevelBpeTokenizer : ITokenizer
{
    public const string ConfigFile = "tokenizer_config.json";

    private readonly string _json;
    private readonly BpeTokenizerSpec _spec;
    private readonly BpeTokenizer _bpe;
    private readonly string?[] _tokens;                       // id → vocab spelling (byte-level) or added token content
    private readonly Dictionary<int, AddedToken> _added;      // id → added token
    private readonly Dictionary<string, int> _addedIds;       // content → id
    private readonly Regex? _addedPattern;                    // alternation of added tokens, longest first
    private readonly HashSet<int> _special;

    private ByteLevelBpeTokenizer(string json, BpeTokenizerSpec spec, SpecialIds ids, bool addBos, ChatTemplate template, string? templateSource,
        string? configJson, IEnumerable<int> endIds)
    {
        AddBos = addBos;
        ConfigJson = configJson;
        ChatTemplateSource = templateSource;
        _json = json;
        _spec = spec;
        _bpe = BpeTokenizer.Create(new BpeOptions(spec.Vocab) { Merges = spec.Merges, ByteLevel = true });
        _added = spec.AddedTokens.ToDictionary(t => t.Id);
        _addedIds = spec.AddedTokens.GroupBy(t => t.Content, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First().Id, StringComparer.Ordinal);
        _tokens = new string?[Math.Max(spec.Vocab.Count == 0 ? 0 : spec.Vocab.Values.Max() + 1, spec.AddedTokens.Count == 0 ? 0 : spec.AddedTokens.Max(t => t.Id) + 1)];
        EndIds = [.. endIds.Where(id => id >= 0 && id < _tokens.Length).Distinct()];
        foreach (var (token, id) in spec.Vocab) _tokens[id] = token;
        foreach (var token in spec.AddedTokens) _tokens[token.Id] = token.Content;
        _addedPattern = spec.AddedTokens.Count == 0 ? null : new Regex(
            string.Join("|", spec.AddedTokens.Select(t => t.Content).Distinct().OrderByDescending(c => c.Length).Select(Regex.Escape)),
            RegexOptions.CultureInvariant);
        (Bos, Eos, Pad) = (ids.Bos, ids.Eos, ids.Pad);
        // A PAD that is only the fallback for a tokenizer with neither PAD nor EOS (id 0) is an ordinary token, not a special one.
        _special = [.. spec.AddedTokens.Where(t => t.Special).Select(t => t.Id), .. new[] { Bos, Eos, ids.PadIsToken ? Pad : -1 }.Where(id => id >= 0)];
        ChatTemplate = template;
    }

    public int VocabSize => _tokens.Length;

    /// <summary>Beginning-of-sequence id; −1 when the tokenizer has none.</summary>
    public int Bos { get; }
    public int Eos { get; }
    public int Pad { get; }

    /// <summary>
    /// Whether prompts start with BOS: <c>add_bos_token</c> of <c>tokenizer_config.json</c> when it says; false when its
    /// <c>bos_token</c> is null (Qwen2); else whether <c>tokenizer.json</c>'s post-processor adds the BOS token (Llama 3's
    /// template does); else whether there is a BOS token at all.
    /// </summary>
    public bool AddBos { get; }

    /// <summary>Which published split the pre-tokenizer is (GGUF export names it for llama.cpp).</summary>
    public PreTokenizerKind PreTokenizer => _spec.Kind;

    /// <summary>Whether a pre-token that is in the vocabulary is taken whole, merges aside (<c>model.ignore_merges</c>; Llama 3).</summary>
    public bool IgnoreMerges => _spec.IgnoreMerges;

    /// <summary>The chat format recognized from <c>tokenizer_config.json</c>.</summary>
    public ChatTemplate ChatTemplate { get; }

    /// <summary>The Jinja <c>chat_template</c> of <c>tokenizer_config.json</c>, verbatim; null when there is none.</summary>
    public string? ChatTemplateSource { get; }

    /// <summary>The <c>tokenizer_config.json</c> text read with the tokenizer, verbatim; null when there was none.</summary>
    public string? ConfigJson { get; }

    /// <summary>EOS and every other <c>eos_token_id</c> that <c>config.json</c> or <c>generation_config.json</c> lists.</summary>
    public IReadOnlyList<int> EndIds { get; }

    /// <summary>Merges in rank order, each "a b" in byte-level spelling.</summary>
    public IReadOnlyList<string> Merges => _spec.Merges;

    /// <summary>Added tokens as listed in the file.</summary>
    public IReadOnlyList<AddedToken> AddedTokens => _spec.AddedTokens;

    /// <summary>The spelling of <paramref name="id"/> as the vocabulary stores it (byte-level), or an added token's content; null for an unused id.</summary>
    public string? TokenText(int id) => (uint)id < (uint)_tokens.Length ? _tokens[id] : null;

    public bool IsAdded(int id) => _added.ContainsKey(id);

    public bool IsSpecial(int id) => _special.Contains(id);

    /// <summary>
    /// Reads <paramref name="tokenizerJsonPath"/> with <c>tokenizer_config.json</c> and <c>config.json</c> beside it, when
    /// present, for BOS/EOS/PAD and the chat template — which recent transformers versions save in
    /// <c>chat_template.jinja</c> instead, taken over the config's key as transformers takes it (and kept in the config
    /// this tokenizer saves, where every version reads it).
    /// </summary>
    public static ByteLevelBpeTokenizer Load(string tokenizerJsonPath)
    {
        string dir = Path.GetDirectoryName(Path.GetFullPath(tokenizerJsonPath))!;
        string? Sibling(string name) => File.Exists(Path.Combine(dir, name)) ? File.ReadAllText(Path.Combine(dir, name)) : null;
        string? config = Sibling(ConfigFile);
        if (Sibling(ChatTemplateFile) is { } template)
        {
            var merged = ParseObject(config, Path.Combine(dir, ConfigFile)) ?? [];
            merged["chat_template"] = template;
            config = merged.ToJsonString();
        }
        return FromJson(File.ReadAllText(tokenizerJsonPath), config, Sibling("config.json"), tokenizerJsonPath, Sibling(GenerationConfigFile));
    }

    /// <summary>Where recent transformers versions save a tokenizer's chat template, beside <c>tokenizer_config.json</c>.</summary>
    public const string ChatTemplateFile = "chat_template.jinja";

    /// <summary>Where a Hugging Face checkpoint lists its generation defaults, its end tokens among them.</summary>
    public const string GenerationConfigFile = "generation_config.json";

    /// <summary>
    /// Builds the tokenizer from <c>tokenizer.json</c> text. BOS, EOS and PAD come from <paramref name="tokenizerConfigJson"/>'s
    /// <c>bos_token</c>/<c>eos_token</c>/<c>pad_token</c>, else from <paramref name="modelConfigJson"/>'s <c>*_token_id</c>;
    /// PAD falls back to EOS (padding is always masked). <see cref="AddBos"/> is read as its summary says.
    /// </summary>
    public static ByteLevelBpeTokenizer FromJson(string json, string? tokenizerConfigJson = null, string? modelConfigJson = null, string source = "tokenizer.json",
        string? generationConfigJson = null)
    {
        var spec = BpeTokenizerJson.Parse(json, source);
        var tokenizerConfig = ParseObject(tokenizerConfigJson, Path.Combine(Path.GetDirectoryName(source) ?? "", ConfigFile));
        var modelConfig = ParseObject(modelConfigJson, Path.Combine(Path.GetDirectoryName(source) ?? "", "config.json"));
        int Resolve(string tokenKey, string idKey)
        {
            string? text = tokenizerConfig?[tokenKey] switch
            {
                JsonValue v => BpeTokenizerJson.Text(v),
                JsonObject o => BpeTokenizerJson.Text(o["content"]),
                _ => null,
            };
            if (text is not null)
            {
                if (spec.AddedTokens.FirstOrDefault(t => t.Content == text) is { } added) return added.Id;
                if (spec.Vocab.TryGetValue(text, out int id)) return id;
                throw new InvalidDataException($"{source}: {tokenKey} '{text}' from {ConfigFile} is not in the vocabulary");
            }
            return modelConfig?[idKey] switch
            {
                JsonValue v when v.TryGetValue(out int id) => id,
                JsonArray { Count: > 0 } a when a[0] is JsonValue v && v.TryGetValue(out int id) => id,
                _ => -1,
            };
        }
        int bos = Resolve("bos_token", "bos_token_id"), eos = Resolve("eos_token", "eos_token_id"), pad = Resolve("pad_token", "pad_token_id");
        var ids = new SpecialIds(bos, eos, pad >= 0 ? pad : Math.Max(eos, 0), PadIsToken: pad >= 0 || eos >= 0);
        string configPath = Path.Combine(Path.GetDirectoryName(source) ?? "", ConfigFile);
        string? jinja = tokenizerConfig?["chat_template"] switch
        {
            JsonValue v => BpeTokenizerJson.Text(v) ?? throw new InvalidDataException($"{configPath}: chat_template is {v.ToJsonString()}, expected a string or a list of named templates"),
            JsonArray named => named.OfType<JsonObject>().Where(o => BpeTokenizerJson.Text(o["name"]) == "default").Select(o => BpeTokenizerJson.Text(o["template"])).FirstOrDefault(),
            _ => null,
        };
        string? Spelling(int id) => id < 0 ? null : spec.AddedTokens.FirstOrDefault(t => t.Id == id)?.Content ?? spec.Vocab.FirstOrDefault(e => e.Value == id).Key;
        string? bosText = Spelling(bos);
        bool addBos = tokenizerConfig?["add_bos_token"] switch
        {
            JsonValue v when v.TryGetValue(out bool add) => add,
            null when tokenizerConfig is not null && tokenizerConfig.ContainsKey("bos_token") && tokenizerConfig["bos_token"] is null => false,
            _ => PostProcessorAddsBos(json, bosText) ?? bos >= 0,
        };
        if (addBos && bos < 0) throw new InvalidDataException($"{source}: {ConfigFile} asks for add_bos_token, and there is no BOS token");
        var generationConfig = ParseObject(generationConfigJson, Path.Combine(Path.GetDirectoryName(source) ?? "", GenerationConfigFile));
        int[] endIds = [eos, .. EosIds(modelConfig), .. EosIds(generationConfig)];
        return new ByteLevelBpeTokenizer(json, spec, ids, addBos, ChatTemplate.Recognize(jinja, bosText, Spelling(eos)), jinja, tokenizerConfigJson, endIds);
    }

    // The ids of an eos_token_id entry: a number or a list of numbers (none otherwise).
    private static IEnumerable<int> EosIds(JsonObject? config) => config?["eos_token_id"] switch
    {
        JsonValue v when v.TryGetValue(out int id) => [id],
        JsonArray list => list.OfType<JsonValue>().Select(v => v.TryGetValue(out int id) ? id : -1),
        _ => [],
    };

    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>();
        int start = 0;
        if (_addedPattern is not null)
        {
            foreach (Match m in _addedPattern.Matches(text))
            {
                EncodeOrdinary(text[start..m.Index], ids);
                ids.Add(_addedIds[m.Value]);
                start = m.Index + m.Length;
            }
        }
        EncodeOrdinary(text[start..], ids);
        return [.. ids];
    }

    public string Decode(ReadOnlySpan<int> ids)
    {
        var bytes = new List<byte>(ids.Length * 4);
        for (int i = 0; i < ids.Length; i++)
            if (!AppendBytes(ids[i], bytes))
                throw new ArgumentOutOfRangeException(nameof(ids), $"token id {ids[i]} at position {i} is not in the vocabulary of {VocabSize}");
        return Encoding.UTF8.GetString(CollectionsMarshal.AsSpan(bytes));
    }

    public byte[]? Bytes(int id)
    {
        var bytes = new List<byte>();
        return AppendBytes(id, bytes) ? [.. bytes] : null;
    }

    // Appends the bytes token `id` stands for (none for a special token); false when it is not in the vocabulary.
    private bool AppendBytes(int id, List<byte> bytes)
    {
        if (TokenText(id) is not { } token) return false;
        if (IsSpecial(id)) return true;
        // An added token decodes to its text. HF's ByteLevel decoder maps it through the byte alphabet too, which garbles
        // non-ASCII ones (tokenizers issues 1392, 1915): ASCII ones, as Llama 3's and Qwen2's, decode alike either way.
        if (_added.ContainsKey(id) || !ByteLevelAlphabet.TryDecode(token, bytes))
            bytes.AddRange(Encoding.UTF8.GetBytes(token));
        return true;
    }

    /// <summary>The prompt text of a conversation in this model's chat format; see <see cref="ChatTemplate.Apply"/>.</summary>
    public string ApplyChatTemplate(IReadOnlyList<(string Role, string Content)> messages, bool addGenerationPrompt) =>
        ChatTemplate.Apply(messages, addGenerationPrompt);

    public string ToJson() => _json;

    private void EncodeOrdinary(string text, List<int> ids)
    {
        if (text.Length == 0) return;
        foreach (string piece in Pieces(text))
        {
            if (_spec.IgnoreMerges && _spec.Vocab.TryGetValue(ByteLevelAlphabet.Encode(piece), out int whole))
                ids.Add(whole);
            else
                ids.AddRange(_bpe.EncodeToIds(piece, considerPreTokenization: false, considerNormalization: false));
        }
    }

    /// <summary>
    /// Unicode NFC, as Hugging Face's NFC normalizer gives it. Not <c>string.Normalize</c>: under the build's invariant
    /// globalization it returns non-ASCII text as it is (<c>"é"</c> stayed two characters), so the normalization
    /// runs on ADRaffy.ENSNormalize's tables (Unicode 15; they pass Unicode's NormalizationTest). ASCII is its own NFC.
    /// </summary>
    internal static string Nfc(string text) => Ascii.IsValid(text) ? text : ADRaffy.ENSNormalize.ENSNormalize.NF.NFC(text);

    /// <summary>The pre-tokenized pieces of ordinary text (no added tokens): normalized, prefixed and split as the file says.</summary>
    internal IReadOnlyList<string> Pieces(string text)
    {
        if (text.Length == 0) return [];
        if (_spec.NormalizeNfc) text = Nfc(text);
        if (_spec.AddPrefixSpace && text[0] != ' ') text = " " + text;
        IEnumerable<string> pieces = [text];
        foreach (var split in _spec.Splits) pieces = pieces.SelectMany(p => Isolate(split, p));
        return [.. pieces];
    }

    /// <summary>
    /// HF's "Isolated" split: every match is a piece, and so is the text between matches. The regex runs on the text with
    /// each character beyond U+FFFF (a surrogate pair, which .NET's <c>\p{L}</c> and <c>\p{N}</c> never match) stood in
    /// for by one character of the same Unicode category, so that 𝑥 splits as a letter and 𝟏 as a digit, as in the
    /// Rust regex Hugging Face runs on code points; the pieces are cut from the text itself.
    /// </summary>
    private static IEnumerable<string> Isolate(Regex regex, string text)
    {
        var (subject, offsets) = StandIns(text);
        int start = 0;
        foreach (Match m in regex.Matches(subject))
        {
            if (m.Length == 0) continue;
            int from = offsets?[m.Index] ?? m.Index, to = offsets?[m.Index + m.Length] ?? m.Index + m.Length;
            if (from > start) yield return text[start..from];
            yield return text[from..to];
            start = to;
        }
        if (start < text.Length) yield return text[start..];
    }

    // The text with each surrogate pair replaced by its category's stand-in, and the index in the text of each character
    // of the result (one more entry: the text's length); no offsets when the text has no surrogate pair.
    private static (string Subject, int[]? Offsets) StandIns(string text)
    {
        int first = 0;
        while (first < text.Length - 1 && !char.IsSurrogatePair(text[first], text[first + 1])) first++;
        if (first >= text.Length - 1) return (text, null);
        var subject = new StringBuilder(text.Length);
        var offsets = new List<int>(text.Length + 1);
        for (int i = 0; i < text.Length; i++)
        {
            offsets.Add(i);
            if (i + 1 < text.Length && char.IsSurrogatePair(text[i], text[i + 1]))
            {
                subject.Append(StandIn[(int)System.Globalization.CharUnicodeInfo.GetUnicodeCategory(text, i)]);
                i++;
            }
            else subject.Append(text[i]);
        }
        offsets.Add(text.Length);
        return (subject.ToString(), [.. offsets]);
    }

    // For each Unicode category, the first character above U+00A0 in the Basic Multilingual Plane that has it (outside
    // ASCII, so no pattern's literal letters, such as the contractions' 's', match a stand-in).
    private static readonly char[] StandIn = [.. Enum.GetValues<System.Globalization.UnicodeCategory>().Order().Select(category =>
    {
        for (int c = 0xA1; c <= 0xFFFF; c++)
            if (!char.IsSurrogate((char)c) && char.GetUnicodeCategory((char)c) == category) return (char)c;
        return '\uFFFD';
    })];

    /// <summary>Whether <c>post_processor</c> puts <paramref name="bosText"/> before a single sequence; null when there is no post-processor.</summary>
    private static bool? PostProcessorAddsBos(string json, string? bosText)
    {
        using var document = JsonDocument.Parse(json);
        if (!document.RootElement.TryGetProperty("post_processor", out var post) || post.ValueKind != JsonValueKind.Object) return null;
        return bosText is not null && Adds(post);

        bool Adds(JsonElement processor) => processor.TryGetProperty("type", out var type) && type.GetString() switch
        {
            "Sequence" => processor.TryGetProperty("processors", out var all) && all.ValueKind == JsonValueKind.Array && all.EnumerateArray().Any(Adds),
            "TemplateProcessing" => processor.TryGetProperty("single", out var single) && single.ValueKind == JsonValueKind.Array
                && single.EnumerateArray().TakeWhile(piece => !piece.TryGetProperty("Sequence", out _)).Any(piece =>
                    piece.TryGetProperty("SpecialToken", out var special) && special.TryGetProperty("id", out var id) && id.GetString() == bosText),
            _ => false,
        };
    }

    private static JsonObject? ParseObject(string? json, string source)
    {
        if (json is null) return null;
        try
        {
            return JsonNode.Parse(json) as JsonObject ?? throw new InvalidDataException($"{source}: not a JSON object");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source}: not valid JSON: {e.Message.ReplaceLineEndings(" ")}", e);
        }
    }

    // PadIsToken: false when PAD is only the fallback id 0 of a tokenizer with neither a PAD nor an EOS token.
    private readonly record struct SpecialIds(int Bos, int Eos, int Pad, bool PadIsToken);
}
