namespace Ponder.Policy;

/// <summary>
/// Text ↔ token ids. <see cref="Encode"/> adds no BOS or EOS of its own (<see cref="Prompting.Encode"/> adds BOS), but a
/// tokenizer with added tokens maps their text to their ids, special ones included (<c>&lt;|im_end|&gt;</c> in text is
/// that token, as Hugging Face's tokenizers encode it by default); <see cref="Decode"/> skips special tokens.
/// </summary>
public interface ITokenizer
{
    int VocabSize { get; }
    int Bos { get; }
    int Eos { get; }
    int Pad { get; }

    /// <summary>Whether a prompt starts with <see cref="Bos"/> (<see cref="Prompting.Encode"/>): Llama does, Qwen2 does not.</summary>
    bool AddBos => Bos >= 0;

    /// <summary>Token ids of <paramref name="text"/>, with no BOS or EOS added. Throws <see cref="ArgumentException"/> naming the first character it cannot encode.</summary>
    int[] Encode(string text);

    /// <summary>Text of <paramref name="ids"/>; special tokens are skipped.</summary>
    string Decode(ReadOnlySpan<int> ids);

    /// <summary>
    /// The UTF-8 bytes token <paramref name="id"/> stands for (empty for a special token), or null when it is not in the
    /// vocabulary. A byte-level token may hold part of a character, which its text alone (U+FFFD) cannot say.
    /// </summary>
    byte[]? Bytes(int id)
    {
        try
        {
            return System.Text.Encoding.UTF8.GetBytes(Decode([id]));
        }
        catch (ArgumentOutOfRangeException)
        {
            return null;                                                               // an id the vocabulary leaves unused
        }
    }

    /// <summary>The Hugging Face <c>tokenizer.json</c> text for this tokenizer.</summary>
    string ToJson();

    /// <summary>
    /// The <c>tokenizer_config.json</c> text this tokenizer was read with (special-token strings, <c>add_bos_token</c>,
    /// the chat template), saved beside <c>tokenizer.json</c> in every checkpoint; null when it has none.
    /// </summary>
    string? ConfigJson => null;

    /// <summary>
    /// Every id that ends a generation: <see cref="Eos"/>, and the other end tokens a Hugging Face model lists
    /// (<c>eos_token_id</c> of <c>config.json</c> or <c>generation_config.json</c>: Qwen2.5-Instruct ends on
    /// <c>&lt;|im_end|&gt;</c> or <c>&lt;|endoftext|&gt;</c>).
    /// </summary>
    IReadOnlyList<int> EndIds => Eos >= 0 ? [Eos] : [];
}
