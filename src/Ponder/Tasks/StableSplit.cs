using System.Text;

namespace Ponder.Tasks;

/// <summary>
/// The deterministic train/test partition: FNV-1a 64 over the UTF-8 bytes of a problem's canonical text
/// (its prompt). A problem is in <see cref="Split.Test"/> iff the hash is 0 mod 10, so about 10% are test
/// and no problem can ever be on both sides. Unlike <see cref="string.GetHashCode()"/> the hash is the same
/// in every process and on every machine.
/// </summary>
internal static class StableSplit
{
    private const ulong OffsetBasis = 14695981039346656037UL;
    private const ulong Prime = 1099511628211UL;

    public static ulong Hash(string text)
    {
        ulong hash = OffsetBasis;
        foreach (byte b in Encoding.UTF8.GetBytes(text))
        {
            hash ^= b;
            hash *= Prime;
        }
        return hash;
    }

    public static Split Of(ulong hash) => hash % 10 == 0 ? Split.Test : Split.Train;

    /// <summary>The problem id: the hash as 16 lowercase hex digits.</summary>
    public static string Id(ulong hash) => hash.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);
}
