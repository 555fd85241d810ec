namespace Ponder.Policy;

/// <summary>
/// How a prompt becomes the token ids a policy continues: BOS (when the tokenizer adds one: Llama and Ponder's own
/// tokenizers do, Qwen2 does not), then the prompt text. A prompt whose text already starts with the BOS token (a chat
/// template that writes it, as Llama 3's does) does not get a second one.
/// </summary>
public static class Prompting
{
    public static int[] Encode(ITokenizer tokenizer, string prompt)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        int[] ids = tokenizer.Encode(prompt);
        return tokenizer.AddBos && (ids.Length == 0 || ids[0] != tokenizer.Bos) ? [tokenizer.Bos, .. ids] : ids;
    }
}
