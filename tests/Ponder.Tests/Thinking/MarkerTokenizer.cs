using Ponder.Policy;

namespace Ponder.Tests.Thinking;

/// <summary>
/// Test tokenizer in which the thinking markers and the cue word are single tokens, so that even a random policy over
/// its 10 tokens closes its thinking section often. Encodes by longest match. PAD and BOS are spelt '_' and '^' so that
/// whatever a random policy samples decodes and re-encodes to the same tokens (EOS still ends a row).
/// </summary>
internal sealed class MarkerTokenizer : ITokenizer
{
    private static readonly string[] Tokens = ["_", "^", "</s>", "<think>", "</think>", "\n", "wait", "a", "b", " "];

    public int VocabSize => Tokens.Length;
    public int Bos => 1;
    public int Eos => 2;
    public int Pad => 0;

    public int[] Encode(string text)
    {
        var ids = new List<int>();
        for (int i = 0; i < text.Length;)
        {
            int best = -1;
            for (int id = 0; id < Tokens.Length; id++)
                if (id != Eos && string.CompareOrdinal(text, i, Tokens[id], 0, Tokens[id].Length) == 0 && (best < 0 || Tokens[id].Length > Tokens[best].Length)) best = id;
            if (best < 0) throw new ArgumentException($"cannot encode '{text[i]}'", nameof(text));
            ids.Add(best);
            i += Tokens[best].Length;
        }
        return [.. ids];
    }

    public string Decode(ReadOnlySpan<int> ids)
    {
        var text = new System.Text.StringBuilder();
        foreach (int id in ids)
            if (id != Eos) text.Append(Tokens[id]);
        return text.ToString();
    }

    public string ToJson() => "{}";
}
