using Ponder.Policy;

namespace Ponder.Tests.Policy;

/// <summary>Test-only character tokenizer: PAD = 0, BOS = 1, EOS = 2 (or any id given), then one id per character.</summary>
internal sealed class TestCharTokenizer : ITokenizer
{
    private const string Alphabet = " \nabcdefghijklmnopqrstuvwxyz0123456789+-*=#.";
    private const int FirstChar = 3;

    private readonly int[] _ends;

    public TestCharTokenizer(int eos = 2, params int[] otherEnds) => (Eos, _ends) = (eos, [eos, .. otherEnds]);

    public IReadOnlyList<int> EndIds => _ends;

    public int VocabSize => FirstChar + Alphabet.Length;
    public int Bos => 1;
    public int Eos { get; }
    public int Pad => 0;

    /// <summary>An EOS id that no model over this vocabulary can sample, for tests that want fixed-length rows.</summary>
    public static TestCharTokenizer WithoutEos() => new(eos: int.MaxValue);

    public int[] Encode(string text) => text.Select(c =>
    {
        var i = Alphabet.IndexOf(c, StringComparison.Ordinal);
        return i >= 0 ? FirstChar + i : throw new ArgumentException($"Cannot encode '{c}'.", nameof(text));
    }).ToArray();

    public string Decode(ReadOnlySpan<int> ids)
    {
        var chars = new List<char>();
        foreach (var id in ids)
            if (id >= FirstChar && id != Eos && id < VocabSize) chars.Add(Alphabet[id - FirstChar]);
        return new string(chars.ToArray());
    }

    public string ToJson() => "{\"model\":{\"type\":\"test-char\"}}";
}
