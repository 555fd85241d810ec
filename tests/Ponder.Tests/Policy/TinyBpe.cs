using System.Text.Json.Nodes;
using Ponder.Policy;

namespace Ponder.Tests.Policy;

/// <summary>
/// A hand-made byte-level BPE <c>tokenizer.json</c>: the 256 byte tokens (ids 0–255, in byte order), one token per
/// merge (ids 256…, in merge order), then added tokens (special ones and a non-special <c>&lt;think&gt;</c>).
/// </summary>
internal static class TinyBpe
{
    public static readonly string[] MergeList =
    [
        "h e", "l l", "he ll", "hell o", "Ġ w", "o r", "Ġw or", "l d", "Ġwor ld", "Ġ t", "Ġt he", "1 2", "3 4",
    ];

    public static readonly string[] Added =
        ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>", "<|im_start|>", "<|im_end|>", "<think>"];

    public static int VocabSize => 256 + MergeList.Length + Added.Length;

    /// <summary>Id of a token by its byte-level spelling or added-token text.</summary>
    public static int Id(string token)
    {
        for (int b = 0; b < 256; b++)
            if (ByteLevelAlphabet.Encode([(byte)b]) == token) return b;
        int merge = Array.FindIndex(MergeList, m => m.Replace(" ", "") == token);
        if (merge >= 0) return 256 + merge;
        int added = Array.IndexOf(Added, token);
        return added >= 0 ? 256 + MergeList.Length + added : throw new ArgumentException($"no token '{token}'");
    }

    /// <summary>The tokenizer.json; <paramref name="splitPattern"/> null means GPT-2's ByteLevel pre-tokenizer with its own regex.</summary>
    public static string Json(string? splitPattern, bool mergesAsPairs = false, bool ignoreMerges = false)
    {
        var vocab = new JsonObject();
        for (int b = 0; b < 256; b++) vocab[ByteLevelAlphabet.Encode([(byte)b])] = b;
        for (int m = 0; m < MergeList.Length; m++) vocab[MergeList[m].Replace(" ", "")] = 256 + m;
        var merges = new JsonArray([.. MergeList.Select(m => mergesAsPairs
            ? (JsonNode)new JsonArray(m.Split(' ')[0], m.Split(' ')[1])
            : JsonValue.Create(m))]);
        var added = new JsonArray([.. Added.Select((t, i) => (JsonNode)new JsonObject
        {
            ["id"] = 256 + MergeList.Length + i, ["content"] = t, ["single_word"] = false, ["lstrip"] = false,
            ["rstrip"] = false, ["normalized"] = false, ["special"] = t != "<think>",
        })]);
        JsonNode preTokenizer = splitPattern is null
            ? new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true }
            : new JsonObject
            {
                ["type"] = "Sequence",
                ["pretokenizers"] = new JsonArray(
                    new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = splitPattern }, ["behavior"] = "Isolated", ["invert"] = false },
                    new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = false }),
            };
        var root = new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = added,
            ["normalizer"] = null,
            ["pre_tokenizer"] = preTokenizer,
            ["post_processor"] = null,
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = true, ["use_regex"] = true },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = null,
                ["end_of_word_suffix"] = null, ["fuse_unk"] = false, ["byte_fallback"] = false, ["ignore_merges"] = ignoreMerges,
                ["vocab"] = vocab, ["merges"] = merges,
            },
        };
        return root.ToJsonString();
    }

    public const string Llama3Template =
        "{{- bos_token }}{%- for message in messages %}{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{%- endfor %}{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}";

    public const string QwenTemplate =
        "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    /// <summary>A tokenizer_config.json naming BOS as a string, EOS as an AddedToken object, and a chat template.</summary>
    public static string TokenizerConfig(string bos, string eos, string? template) => new JsonObject
    {
        ["bos_token"] = bos,
        ["eos_token"] = new JsonObject { ["content"] = eos, ["special"] = true },
        ["chat_template"] = template,
        ["model_max_length"] = 131072,
    }.ToJsonString();
}
