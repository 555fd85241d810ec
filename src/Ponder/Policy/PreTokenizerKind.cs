namespace Ponder.Policy;

/// <summary>Which published pre-tokenizer split a byte-level BPE tokenizer uses (llama.cpp keys its own split on this).</summary>
public enum PreTokenizerKind
{
    /// <summary>GPT-2's: letters, digit runs and punctuation each with an optional leading space.</summary>
    Gpt2,
    /// <summary>Llama 3's: case-insensitive contractions, digits in groups of at most three, newlines kept apart.</summary>
    Llama3,
    /// <summary>Qwen2's: Llama 3's with single digits.</summary>
    Qwen2,
    /// <summary>Any other regular expression (runs; GGUF export refuses it, since llama.cpp would fall back to its default split).</summary>
    Custom,
}
