using System.Text;

namespace Ponder.Policy;

/// <summary>
/// GPT-2's reversible map from the 256 byte values to printable characters, in which byte-level BPE
/// vocabularies are written: the printable Latin-1 bytes (<c>!</c>…<c>~</c>, <c>¡</c>…<c>¬</c>, <c>®</c>…<c>ÿ</c>)
/// stand for themselves and the other 68 bytes take U+0100, U+0101, … in byte order (space → <c>Ġ</c>, newline → <c>Ċ</c>).
/// </summary>
internal static class ByteLevelAlphabet
{
    private static readonly char[] ByteToChar = Build();
    private static readonly Dictionary<char, byte> CharToByte =
        Enumerable.Range(0, 256).ToDictionary(b => ByteToChar[b], b => (byte)b);

    /// <summary>The byte-level spelling of <paramref name="text"/>'s UTF-8 bytes.</summary>
    public static string Encode(string text) => Encode(Encoding.UTF8.GetBytes(text));

    public static string Encode(ReadOnlySpan<byte> bytes)
    {
        var chars = new char[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) chars[i] = ByteToChar[bytes[i]];
        return new string(chars);
    }

    /// <summary>Appends the bytes <paramref name="token"/> spells; false (nothing appended) when a character is outside the alphabet.</summary>
    public static bool TryDecode(string token, List<byte> into)
    {
        foreach (char c in token)
            if (!CharToByte.ContainsKey(c)) return false;
        foreach (char c in token) into.Add(CharToByte[c]);
        return true;
    }

    private static char[] Build()
    {
        var map = new char[256];
        bool Printable(int b) => b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
        int next = 256;
        for (int b = 0; b < 256; b++) map[b] = Printable(b) ? (char)b : (char)next++;
        return map;
    }
}
