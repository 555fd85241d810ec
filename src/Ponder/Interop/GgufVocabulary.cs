using Ponder.Policy;

namespace Ponder.Interop;

/// <summary>
/// The <c>tokenizer.ggml.*</c> metadata llama.cpp needs, built from a Ponder tokenizer. Both tokenizers are written as
/// llama.cpp's "gpt2" model (byte-level BPE): token texts in GPT-2's byte-level spelling, merges in rank order. The
/// character tokenizer becomes a BPE vocabulary with no merges, so llama.cpp splits text into single characters and
/// looks each one up — exactly Ponder's encoding. Ids the tokenizer does not use (a model vocabulary larger than the
/// tokenizer's) are filled with unused <c>[PADn]</c> tokens so the token list matches the embedding rows.
/// </summary>
internal sealed record GgufVocabulary(string Model, string Pre, string[] Tokens, int[] Types, float[] Scores, string[] Merges, int Bos, int Eos, int Pad)
{
    public static GgufVocabulary From(ITokenizer tokenizer, int vocabSize)
    {
        if (tokenizer.VocabSize > vocabSize)
            throw new ArgumentException($"the tokenizer has {tokenizer.VocabSize} tokens, more than the model's vocab_size {vocabSize}", nameof(tokenizer));
        var tokens = new string[vocabSize];
        var types = new int[vocabSize];
        string[] merges;
        string pre;
        switch (tokenizer)
        {
            case CharTokenizer chars:
                for (int id = 0; id < chars.VocabSize; id++)
                {
                    bool special = chars.IsSpecial(id);
                    tokens[id] = special ? SpecialText(chars, id) : ByteLevelAlphabet.Encode(chars.Decode([id]));
                    types[id] = (int)(special ? GgufTokenType.Control : GgufTokenType.Normal);
                }
                merges = [];
                pre = "gpt-2";
                break;
            case ByteLevelBpeTokenizer bpe:
                for (int id = 0; id < bpe.VocabSize; id++)
                {
                    if (bpe.TokenText(id) is not { } text) continue;
                    tokens[id] = text;   // added tokens verbatim, as llama.cpp's own converter writes them
                    types[id] = (int)(bpe.IsSpecial(id) ? GgufTokenType.Control : bpe.IsAdded(id) ? GgufTokenType.UserDefined : GgufTokenType.Normal);
                }
                merges = [.. bpe.Merges];
                // llama.cpp's names fix ignore_merges too: on for llama-bpe, off for gpt-2 and qwen2.
                pre = (bpe.PreTokenizer, bpe.IgnoreMerges) switch
                {
                    (PreTokenizerKind.Gpt2, false) => "gpt-2",
                    (PreTokenizerKind.Llama3, true) => "llama-bpe",
                    (PreTokenizerKind.Qwen2, false) => "qwen2",
                    // llama.cpp would split such text its default way, not this tokenizer's: its tokens would differ unsaid.
                    _ => throw new NotSupportedException($"GGUF export: the tokenizer's pre-tokenizer split ({bpe.PreTokenizer}, ignore_merges {bpe.IgnoreMerges.ToString().ToLowerInvariant()}) is none of those llama.cpp knows (GPT-2, Llama 3 with ignore_merges, Qwen2); llama.cpp would tokenize differently"),
                };
                break;
            default:
                throw new NotSupportedException($"GGUF export does not know the tokenizer {tokenizer.GetType().Name}");
        }
        for (int id = 0; id < vocabSize; id++)
        {
            if (tokens[id] is not null) continue;
            tokens[id] = $"[PAD{id}]";
            types[id] = (int)GgufTokenType.Unused;
        }
        return new GgufVocabulary("gpt2", pre, tokens, types, new float[vocabSize], merges, tokenizer.Bos, tokenizer.Eos, tokenizer.Pad);
    }

    private static string SpecialText(CharTokenizer chars, int id) =>
        id == chars.Pad ? CharTokenizer.PadToken : id == chars.Bos ? CharTokenizer.BosToken : id == chars.Eos ? CharTokenizer.EosToken : CharTokenizer.UnkToken;
}
