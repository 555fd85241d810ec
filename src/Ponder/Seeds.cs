namespace Ponder;

/// <summary>Stable seed derivation (SplitMix64), identical across processes and machines — unlike <see cref="HashCode"/>.</summary>
public static class Seeds
{
    /// <summary>A well-mixed 31-bit seed from a base seed and a stream index (a step, a problem number).</summary>
    public static int Mix(long seed, long index)
    {
        ulong z = unchecked((ulong)seed * 0x9E3779B97F4A7C15UL + (ulong)index + 0x632BE59BD9B4E019UL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        z ^= z >> 31;
        return (int)(z & 0x7FFFFFFF);
    }
}
