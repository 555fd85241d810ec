namespace Ponder.Policy;

/// <summary>How a prompt becomes the token ids a policy continues: BOS, then the prompt text.</summary>
public static class Prompting
{
    public static int[] Encode(ITokenizer tokenizer, string prompt) => [tokenizer.Bos, .. tokenizer.Encode(prompt)];
}
