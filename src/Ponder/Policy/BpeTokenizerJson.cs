using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Ponder.Policy;

/// <summary>
/// Reads the parts of a Hugging Face <c>tokenizer.json</c> that define a byte-level BPE tokenizer (GPT-2, Llama 3,
/// Qwen2): <c>model</c> (vocab; merges as "a b" strings or [a, b] pairs; ignore_merges), <c>added_tokens</c>,
/// <c>pre_tokenizer</c> (ByteLevel, or a Sequence of regex Splits and a ByteLevel) and <c>normalizer</c> (none or NFC).
/// Anything else (SentencePiece-style Metaspace, byte fallback, other normalizers) is refused in one line.
/// </summary>
internal static class BpeTokenizerJson
{
    /// <summary>The split GPT-2's ByteLevel pre-tokenizer applies when <c>use_regex</c> is true.</summary>
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";
    public const string Llama3Pattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    public const string Qwen2Pattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    public static BpeTokenizerSpec Parse(string json, string source)
    {
        JsonObject root;
        try
        {
            root = JsonNode.Parse(json) as JsonObject ?? throw new InvalidDataException($"{source}: not a JSON object");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source}: not valid JSON: {e.Message.ReplaceLineEndings(" ")}", e);
        }
        if (root["model"] is not JsonObject model || Text(model["type"]) != "BPE")
            throw new InvalidDataException($"{source}: model.type is not BPE");
        if (model["byte_fallback"] is JsonValue fallback && fallback.TryGetValue(out bool byteFallback) && byteFallback)
            throw new NotSupportedException($"{source}: SentencePiece-style BPE (byte_fallback) is not supported; only byte-level BPE");
        if (model["vocab"] is not JsonObject vocabNode)
            throw new InvalidDataException($"{source}: model.vocab is not an object");

        var vocab = new Dictionary<string, int>(vocabNode.Count, StringComparer.Ordinal);
        var byId = new Dictionary<int, string>(vocabNode.Count);
        foreach (var (token, idNode) in vocabNode)
        {
            if (idNode is not JsonValue v || !v.TryGetValue(out int id) || id < 0)
                throw new InvalidDataException($"{source}: vocab entry '{token}' has id {idNode?.ToJsonString()}, expected a non-negative integer");
            if (!byId.TryAdd(id, token))
                throw new InvalidDataException($"{source}: vocab entries '{byId[id]}' and '{token}' both have id {id}");
            vocab[token] = id;
        }
        for (int value = 0; value < 256; value++)
            if (ByteLevelAlphabet.Encode([(byte)value]) is var single && !vocab.ContainsKey(single))
                throw new InvalidDataException($"{source}: model.vocab lacks the byte-level token '{single}' (byte 0x{value:X2}); text with that byte could not be encoded");
        var merges = ReadMerges(model["merges"], source);
        for (int i = 0; i < merges.Count; i++)
        {
            var parts = merges[i].Split(' ');
            if (parts.FirstOrDefault(p => !vocab.ContainsKey(p)) is { } unknown)
                throw new InvalidDataException($"{source}: merge {i} ('{merges[i]}') uses '{unknown}', which is not in model.vocab");
            if (!vocab.ContainsKey(parts[0] + parts[1]))
                throw new InvalidDataException($"{source}: merge {i} ('{merges[i]}') makes '{parts[0] + parts[1]}', which is not in model.vocab");
        }
        // A merge listed twice keeps its last rank, as Hugging Face's BPE builder does (its map keeps the last entry).
        var lastRank = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < merges.Count; i++) lastRank[merges[i]] = i;
        if (lastRank.Count < merges.Count) merges = [.. merges.Where((m, i) => lastRank[m] == i)];
        var added = ReadAddedTokens(root["added_tokens"], source);
        var addedById = new Dictionary<int, string>();
        foreach (var token in added)
        {
            if (byId.TryGetValue(token.Id, out var inVocab) && inVocab != token.Content)
                throw new InvalidDataException($"{source}: added token '{token.Content}' has id {token.Id}, which model.vocab gives to '{inVocab}'");
            if (addedById.TryGetValue(token.Id, out var other) && other != token.Content)
                throw new InvalidDataException($"{source}: added tokens '{other}' and '{token.Content}' both have id {token.Id}");
            addedById[token.Id] = token.Content;
        }
        var (splits, kind, prefixSpace) = ReadPreTokenizer(root["pre_tokenizer"], source);
        bool nfc = ReadNormalizer(root["normalizer"], source);
        // HF matches a normalized added token in the NFC text: one holding a character NFC composes (it has a canonical
        // decomposition) or a combining mark could match there where the raw text differs. Others (CJK, ▁, ｜) read alike.
        if (nfc && added.FirstOrDefault(t => t.Normalized && (t.Content.Any(Composable) || ByteLevelBpeTokenizer.Nfc(t.Content) != t.Content)) is { } composed)
            throw new NotSupportedException($"{source}: added token '{composed.Content}' is normalized (matched after NFC) and holds a character NFC may compose; Ponder matches added tokens in the raw text");
        bool ignoreMerges = model["ignore_merges"] is JsonValue im && im.TryGetValue(out bool b) && b;
        return new BpeTokenizerSpec(vocab, merges, added, splits, kind, prefixSpace, nfc, ignoreMerges);
    }

    // A character with a canonical decomposition (é), a combining mark (U+0301) or a conjoining Hangul jamo (which NFC
    // composes into syllables); surrogates are judged as such.
    private static bool Composable(char c) =>
        c > 0x7F && (char.IsSurrogate(c) || c is >= '\u1100' and <= '\u11FF' || ADRaffy.ENSNormalize.ENSNormalize.NF.NFD(c.ToString()) != c.ToString()
            || char.GetUnicodeCategory(c) is System.Globalization.UnicodeCategory.NonSpacingMark
                or System.Globalization.UnicodeCategory.SpacingCombiningMark or System.Globalization.UnicodeCategory.EnclosingMark);

    private static List<string> ReadMerges(JsonNode? node, string source)
    {
        if (node is null) return [];
        if (node is not JsonArray array) throw new InvalidDataException($"{source}: model.merges is not an array");
        var merges = new List<string>(array.Count);
        for (int i = 0; i < array.Count; i++)
        {
            string merge = array[i] switch
            {
                JsonValue v when v.TryGetValue(out string? s) && s.Split(' ').Length == 2 => s,
                JsonArray { Count: 2 } pair when Text(pair[0]) is { } a && Text(pair[1]) is { } b => $"{a} {b}",
                var other => throw new InvalidDataException($"{source}: merge {i} is {other?.ToJsonString()}, expected \"a b\" or [\"a\", \"b\"]"),
            };
            merges.Add(merge);
        }
        return merges;
    }

    private static List<AddedToken> ReadAddedTokens(JsonNode? node, string source)
    {
        var tokens = new List<AddedToken>();
        if (node is null) return tokens;
        if (node is not JsonArray array) throw new InvalidDataException($"{source}: added_tokens is not an array");
        foreach (var item in array)
        {
            if (item is not JsonObject o || o["id"] is not JsonValue idValue || !idValue.TryGetValue(out int id) || Text(o["content"]) is not { Length: > 0 } content)
                throw new InvalidDataException($"{source}: added token {item?.ToJsonString()} lacks an integer id or a content string");
            if (id < 0) throw new InvalidDataException($"{source}: added token '{content}' has id {id}, expected a non-negative integer");
            bool special = o["special"] is JsonValue s && s.TryGetValue(out bool flag) && flag;
            // Ponder matches added tokens verbatim in the raw text; these flags would have HF match them otherwise.
            if (new[] { "lstrip", "rstrip", "single_word" }.FirstOrDefault(f => o[f] is JsonValue v && v.TryGetValue(out bool on) && on) is { } strip)
                throw new NotSupportedException($"{source}: added token '{content}' has {strip} true; Ponder matches added tokens verbatim (lstrip, rstrip and single_word are not supported)");
            tokens.Add(new AddedToken(id, content, special, Normalized: o["normalized"] is JsonValue n && n.TryGetValue(out bool normalized) && normalized));
        }
        return tokens;
    }

    private static (List<Regex>, PreTokenizerKind, bool) ReadPreTokenizer(JsonNode? node, string source)
    {
        var steps = node switch
        {
            JsonObject o when Text(o["type"]) == "Sequence" => (o["pretokenizers"] as JsonArray)?.OfType<JsonObject>().ToList()
                ?? throw new InvalidDataException($"{source}: pre_tokenizer Sequence has no pretokenizers array"),
            JsonObject o => [o],
            _ => throw new NotSupportedException($"{source}: a byte-level BPE tokenizer needs a ByteLevel pre_tokenizer"),
        };
        var patterns = new List<string>();
        bool byteLevel = false, prefixSpace = false;
        foreach (var step in steps)
        {
            switch (Text(step["type"]))
            {
                case "ByteLevel":
                    byteLevel = true;
                    prefixSpace = step["add_prefix_space"] is JsonValue p && p.TryGetValue(out bool ps) && ps;
                    // HF prefixes each piece earlier splits made; Ponder prefixes the text once, before any split.
                    if (prefixSpace && patterns.Count > 0)
                        throw new NotSupportedException($"{source}: a ByteLevel pre-tokenizer with add_prefix_space after a Split is not supported (HF prefixes every piece)");
                    bool useRegex = step["use_regex"] is not JsonValue u || !u.TryGetValue(out bool ur) || ur;
                    if (useRegex) patterns.Add(Gpt2Pattern);
                    break;
                case "Split":
                    // After ByteLevel, HF splits the byte-level text (spaces as Ġ); Ponder splits the raw text.
                    if (byteLevel) throw new NotSupportedException($"{source}: a Split pre-tokenizer after ByteLevel is not supported (it would split byte-level text)");
                    string? pattern = step["pattern"] is JsonObject po ? Text(po["Regex"]) : null;
                    if (pattern is null || Text(step["behavior"]) != "Isolated" || (step["invert"] is JsonValue inv && inv.TryGetValue(out bool invert) && invert))
                        throw new NotSupportedException($"{source}: only Split pre-tokenizers with a Regex pattern, behavior Isolated and invert false are supported");
                    patterns.Add(pattern);
                    break;
                case var other:
                    throw new NotSupportedException($"{source}: pre-tokenizer '{other}' is not supported (known: ByteLevel, Split, Sequence)");
            }
        }
        if (!byteLevel) throw new NotSupportedException($"{source}: a byte-level BPE tokenizer needs a ByteLevel pre_tokenizer");
        var kind = patterns switch
        {
            [Gpt2Pattern] => PreTokenizerKind.Gpt2,
            [Llama3Pattern] => PreTokenizerKind.Llama3,
            [Qwen2Pattern] => PreTokenizerKind.Qwen2,
            _ => PreTokenizerKind.Custom,
        };
        var regexes = new List<Regex>();
        foreach (string pattern in patterns)
        {
            try
            {
                regexes.Add(new Regex(pattern, RegexOptions.CultureInvariant | RegexOptions.Compiled));
            }
            catch (ArgumentException e)
            {
                throw new NotSupportedException($"{source}: pre-tokenizer pattern '{pattern}' is not a .NET regular expression: {e.Message}", e);
            }
        }
        return (regexes, kind, prefixSpace);
    }

    private static bool ReadNormalizer(JsonNode? node, string source) => node switch
    {
        null => false,
        JsonObject o when Text(o["type"]) == "NFC" => true,
        JsonObject o when Text(o["type"]) == "Sequence" && o["normalizers"] is JsonArray { Count: 0 } => false,
        _ => throw new NotSupportedException($"{source}: normalizer {node.ToJsonString()} is not supported (known: none, NFC)"),
    };

    internal static string? Text(JsonNode? node) => node is JsonValue v && v.TryGetValue(out string? s) ? s : null;
}
