using System.Runtime.Intrinsics;

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
    private const uint Upper = 0x80000000u, Lower = 0x7FFFFFFFu, MatrixA = 0x9908B0DFu;

    private readonly uint[] _state = new uint[N];
    private readonly float[] _ready = new float[N];                                    // the floats of the current state words
    private int _next = N;

    public UniformDraws(ulong seed)
    {
        _state[0] = (uint)seed;
        for (var j = 1; j < N; j++) _state[j] = 1812433253u * (_state[j - 1] ^ (_state[j - 1] >> 30)) + (uint)j;
    }

    /// <summary>Fills <paramref name="target"/> with the next draws, in order.</summary>
    public void Fill(Span<float> target)
    {
        while (!target.IsEmpty)
        {
            if (_next == N) Refill();
            var n = Math.Min(N - _next, target.Length);
            _ready.AsSpan(_next, n).CopyTo(target);
            _next += n;
            target = target[n..];
        }
    }

    // The next 624 words of state (MT19937's recurrence), then their floats: (tempered word mod 2²⁴)·2⁻²⁴. Eight words at
    // a time where the hardware has 256-bit vectors: each word reads only words the loop has not yet replaced, or ones
    // it replaced at least 227 words before, so a block of eight never reads a word of its own block's results.
    private unsafe void Refill()
    {
        fixed (uint* s = _state)
        fixed (float* f = _ready)
        {
            var k = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                for (; k + 8 <= N - M; k += 8) Vector256.Store(Twist(Vector256.Load(s + k), Vector256.Load(s + k + 1), Vector256.Load(s + k + M)), s + k);
                for (; k < N - M; k++) s[k] = Twist(s[k], s[k + 1], s[k + M]);
                for (; k + 8 <= N - 1; k += 8) Vector256.Store(Twist(Vector256.Load(s + k), Vector256.Load(s + k + 1), Vector256.Load(s + k + M - N)), s + k);
            }
            for (; k < N - M; k++) s[k] = Twist(s[k], s[k + 1], s[k + M]);
            for (; k < N - 1; k++) s[k] = Twist(s[k], s[k + 1], s[k + M - N]);
            s[N - 1] = Twist(s[N - 1], s[0], s[M - 1]);

            const float unit = 1f / (1 << 24);
            var i = 0;
            if (Vector256.IsHardwareAccelerated)
                for (; i + 8 <= N; i += 8)
                    Vector256.Store(Vector256.ConvertToSingle((Temper(Vector256.Load(s + i)) & Vector256.Create(0xFFFFFFu)).AsInt32()) * unit, f + i);
            for (; i < N; i++) f[i] = (Temper(s[i]) & 0xFFFFFF) * unit;
        }
        _next = 0;
    }

    private static uint Twist(uint word, uint following, uint far)
    {
        var y = (word & Upper) | (following & Lower);
        return far ^ (y >> 1) ^ ((0u - (following & 1)) & MatrixA);
    }

    private static Vector256<uint> Twist(Vector256<uint> word, Vector256<uint> following, Vector256<uint> far)
    {
        var y = (word & Vector256.Create(Upper)) | (following & Vector256.Create(Lower));
        return far ^ (y >> 1) ^ ((Vector256<uint>.Zero - (following & Vector256<uint>.One)) & Vector256.Create(MatrixA));
    }

    // MT19937's output transform.
    private static uint Temper(uint y)
    {
        y ^= y >> 11;
        y ^= (y << 7) & 0x9D2C5680u;
        y ^= (y << 15) & 0xEFC60000u;
        return y ^ (y >> 18);
    }

    private static Vector256<uint> Temper(Vector256<uint> y)
    {
        y ^= y >> 11;
        y ^= (y << 7) & Vector256.Create(0x9D2C5680u);
        y ^= (y << 15) & Vector256.Create(0xEFC60000u);
        return y ^ (y >> 18);
    }
}
