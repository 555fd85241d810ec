using System.Text;
using Ponder.Policy;

namespace Ponder.Serving;

/// <summary>
/// Text decoded a token at a time, and where each token's text starts in it: a character split over byte-level tokens
/// counts once its last byte has come (until then it is not in the text).
/// </summary>
internal sealed class TokenText
{
    private readonly System.Text.Decoder _utf8 = Encoding.UTF8.GetDecoder();
    private readonly StringBuilder _text = new();
    private readonly List<int> _starts = [];

    /// <summary>Appends token <paramref name="id"/>'s text (a special token's is empty).</summary>
    public void Add(ITokenizer tokenizer, int id)
    {
        _starts.Add(_text.Length);
        var bytes = tokenizer.Bytes(id) ?? [];
        if (bytes.Length == 0) return;
        var chars = new char[bytes.Length + 2];
        _text.Append(chars, 0, _utf8.GetChars(bytes, 0, bytes.Length, chars, 0, flush: false));
    }

    /// <summary>The whole characters so far.</summary>
    public string Text => _text.ToString();

    /// <summary>For each token, where its text starts; then the text's length.</summary>
    public int[] Starts => [.. _starts, _text.Length];
}
