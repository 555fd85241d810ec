using static TorchSharp.torch;

namespace Ponder.Policy;

/// <summary>
/// Sequence packing: several sequences laid end to end in each row of a (B, T) batch, each attending only within
/// itself at positions from 0, so that each gets the logits it would get in a row of its own (within rounding) while the
/// batch carries less padding. Per row, the lengths of its sequences, which sum to T; padding at a row's end is a
/// sequence of its own (its positions attend among themselves, and carry no loss).
/// </summary>
/// <remarks>
/// What TRL's padding-free packing and flash attention's variable-length kernels do: no attention across examples,
/// positions restart at each one. <see cref="Transformer.Packed"/> runs it; on the C# training node
/// (<see cref="CausalAttentionKernel"/>) each sequence is its own causal block and costs only its own length squared;
/// libtorch's path builds the block-diagonal mask and per-token positions.
/// </remarks>
public sealed class PackedRows
{
    private readonly int[][] _lengths;

    /// <param name="lengths">Per row, its sequences' lengths, each positive, summing to <paramref name="width"/>.</param>
    /// <param name="width">Tokens in a row (T).</param>
    public PackedRows(IReadOnlyList<int[]> lengths, int width)
    {
        ArgumentNullException.ThrowIfNull(lengths);
        if (lengths.Count == 0) throw new ArgumentException("packed rows: no rows", nameof(lengths));
        for (var b = 0; b < lengths.Count; b++)
        {
            if (lengths[b].Length == 0 || lengths[b].Any(n => n <= 0))
                throw new ArgumentException($"packed rows: row {b} has an empty sequence or none", nameof(lengths));
            if (lengths[b].Sum() != width)
                throw new ArgumentException($"packed rows: row {b}'s sequences hold {lengths[b].Sum()} tokens, not the row's {width}", nameof(lengths));
        }
        _lengths = [.. lengths.Select(l => l.ToArray())];
        Width = width;
        Longest = _lengths.Max(l => l.Max());
        var sequences = new List<(int, int, int)>();
        for (var b = 0; b < _lengths.Length; b++)
        {
            var start = 0;
            foreach (var n in _lengths[b])
            {
                sequences.Add((b, start, n));
                start += n;
            }
        }
        Sequences = [.. sequences];
    }

    /// <summary>All the sequences of <paramref name="lengths"/> in one row, in the order given, without padding; and each one's start.</summary>
    public static (PackedRows Rows, (int Row, int Offset)[] Places) OneRow(IReadOnlyList<int> lengths)
    {
        ArgumentNullException.ThrowIfNull(lengths);
        var places = new (int Row, int Offset)[lengths.Count];
        for (int i = 0, at = 0; i < lengths.Count; at += lengths[i], i++) places[i] = (0, at);
        return (new PackedRows([[.. lengths]], lengths.Sum()), places);
    }

    /// <summary>
    /// A layout for sequences of <paramref name="lengths"/>: with <paramref name="width"/> 0, all in one row in order of
    /// decreasing length, without padding; else rows of <paramref name="width"/> tokens, or of the longest sequence's where that is more,
    /// filled first fit in order of decreasing length, each row's padding a sequence of its own at its end. Returns the
    /// layout and where each sequence starts (its row, and its offset in the row).
    /// </summary>
    public static (PackedRows Rows, (int Row, int Offset)[] Places) FirstFit(IReadOnlyList<int> lengths, int width)
    {
        ArgumentNullException.ThrowIfNull(lengths);
        if (lengths.Count == 0 || lengths.Any(n => n <= 0)) throw new ArgumentException("packed rows: no sequences, or an empty one", nameof(lengths));
        var t = width == 0 ? lengths.Sum() : Math.Max(width, lengths.Max());
        var used = new List<int>();
        var places = new (int Row, int Offset)[lengths.Count];
        foreach (var i in Enumerable.Range(0, lengths.Count).OrderByDescending(i => lengths[i]))
        {
            var row = used.FindIndex(u => u + lengths[i] <= t);
            if (row < 0)
            {
                row = used.Count;
                used.Add(0);
            }
            places[i] = (row, used[row]);
            used[row] += lengths[i];
        }
        var rows = used.Select((_, r) =>
        {
            int[] members = [.. Enumerable.Range(0, lengths.Count).Where(i => places[i].Row == r).OrderBy(i => places[i].Offset).Select(i => lengths[i])];
            return used[r] < t ? [.. members, t - used[r]] : members;
        }).ToList();
        return (new PackedRows(rows, t), places);
    }

    /// <summary>Rows (B).</summary>
    public int Rows => _lengths.Length;

    /// <summary>Tokens in a row (T).</summary>
    public int Width { get; }

    /// <summary>The longest sequence (positions run up to it).</summary>
    public int Longest { get; }

    /// <summary>Row <paramref name="row"/>'s sequence lengths, in order.</summary>
    public IReadOnlyList<int> this[int row] => _lengths[row];

    /// <summary>Every sequence as (row, first token, length), row by row (the kernel's view; not to be changed).</summary>
    internal (int Row, int Start, int Length)[] Sequences { get; }

    /// <summary>Whether <paramref name="inputIds"/> is a (B, T) batch of this layout.</summary>
    public void Check(Tensor inputIds)
    {
        if (inputIds.dim() != 2 || inputIds.size(0) != Rows || inputIds.size(1) != Width)
            throw new ArgumentException($"packed rows: a batch of shape [{string.Join(", ", inputIds.shape)}] is not this layout's [{Rows}, {Width}]", nameof(inputIds));
    }

    /// <summary>Each token's position in its own sequence (B, T).</summary>
    public Tensor Positions(Device device)
    {
        var positions = new long[Rows * Width];
        for (var b = 0; b < Rows; b++)
        {
            var at = b * Width;
            foreach (var n in _lengths[b])
                for (var j = 0; j < n; j++) positions[at++] = j;
        }
        return tensor(positions, [Rows, Width], device: device);
    }

    /// <summary>Additive attention mask (B, 1, T, T): 0 where query i may attend key j (the same sequence, j ≤ i), −∞ elsewhere.</summary>
    public Tensor Mask(Device device, ScalarType dtype)
    {
        var mask = new float[(long)Rows * Width * Width];
        Array.Fill(mask, float.NegativeInfinity);
        for (var b = 0; b < Rows; b++)
        {
            var start = 0;
            foreach (var n in _lengths[b])
            {
                for (var i = start; i < start + n; i++)
                    Array.Fill(mask, 0f, ((b * Width) + i) * Width + start, i - start + 1);
                start += n;
            }
        }
        return tensor(mask, [Rows, 1, Width, Width], device: device).to(dtype);
    }
}
