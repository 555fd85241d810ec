namespace Ponder.Policy;

/// <summary>
/// Seeded uniform draws in [0, 1), in C#: the stream libtorch's CPU generator gives <c>uniform_(0, 1)</c> on float32
/// tensors when seeded alike (a Mersenne Twister, MT19937, seeded with the seed's low 32 bits; each float is the top
/// 24 bits' worth of one 32-bit output, (x mod 2²⁴)·2⁻²⁴, drawn in the tensor's element order). The sampler draws its
/// Gumbel noise here instead of through a libtorch call per decode step; the same seed picks the same tokens either
/// way (a test pins the two streams to each other).
/// </summary>
public sealed class UniformDraws
{
    private const int N = 624;
    private const int M = 397;

    private readonly uint[] _state = new uint[N];
    private int _next = N;

    public UniformDraws(ulong seed)
    {
        _state[0] = (uint)seed;
        for (var j = 1; j < N; j++) _state[j] = 1812433253u * (_state[j - 1] ^ (_state[j - 1] >> 30)) + (uint)j;
    }

    /// <summary>Fills <paramref name="target"/> with the next draws, in order.</summary>
    public void Fill(Span<float> target)
    {
        const float unit = 1f / (1 << 24);
        var state = _state.AsSpan();
        for (var i = 0; i < target.Length;)
        {
            if (_next == N) Twist(state);
            var n = Math.Min(N - _next, target.Length - i);
            foreach (var y in state.Slice(_next, n)) target[i++] = (Temper(y) & 0xFFFFFF) * unit;
            _next += n;
        }
    }

    // MT19937's output transform.
    private static uint Temper(uint y)
    {
        y ^= y >> 11;
        y ^= (y << 7) & 0x9D2C5680u;
        y ^= (y << 15) & 0xEFC60000u;
        return y ^ (y >> 18);
    }

    // The next 624 words of state (MT19937's recurrence).
    private void Twist(Span<uint> s)
    {
        for (var k = 0; k < N; k++)
        {
            var y = (s[k] & 0x80000000u) | (s[(k + 1) % N] & 0x7FFFFFFFu);
            s[k] = s[(k + M) % N] ^ (y >> 1) ^ ((s[(k + 1) % N] & 1) != 0 ? 0x9908B0DFu : 0u);
        }
        _next = 0;
    }
}
