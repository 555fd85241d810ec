using static TorchSharp.torch;

namespace Ponder.Policy;

/// <summary>
/// A batch of rows in the middle of decoding: each row's KV cache and its next-token logits. Made by
/// <see cref="Generator.Prefill"/>, extended by <see cref="Generator.Append"/> and <see cref="Generator.Continue"/>,
/// split into a new independent state by <see cref="Fork"/>. Always represents exactly the tokens fed so far
/// (prompt + appended + generated).
/// </summary>
public sealed class DecodeState : IDisposable
{
    internal DecodeState(KvCache cache, Tensor logits, long[] lengths)
    {
        Cache = cache;
        Logits = logits;
        LengthsMutable = lengths;
    }

    /// <summary>Rows.</summary>
    public int Rows => LengthsMutable.Length;

    /// <summary>Real tokens in each row's context (its next position).</summary>
    public IReadOnlyList<long> Lengths => LengthsMutable;

    internal KvCache Cache { get; private set; }

    /// <summary>(B, V) next-token logits after each row's last real token.</summary>
    internal Tensor Logits { get; private set; }

    internal long[] LengthsMutable { get; private set; }

    /// <summary>
    /// A new state whose row j continues row <paramref name="rows"/>[j] of this one (duplicates allowed), built by
    /// <see cref="KvCache.Select"/> without recomputation; it shares nothing mutable with this state.
    /// </summary>
    public DecodeState Fork(int[] rows) => Fork(rows, 0);

    /// <summary>As <see cref="Fork(int[])"/>, the new cache with room for <paramref name="room"/> more columns.</summary>
    internal DecodeState Fork(int[] rows, int room)
    {
        ArgumentNullException.ThrowIfNull(rows);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var index = rows.Select(r => (long)r).ToArray();
        var cache = Cache.Select(index, room);
        var logits = Logits.index_select(0, tensor(index, device: Logits.device));     // (B', V)
        return new DecodeState(cache, logits.DetachFromDisposeScope(), rows.Select(r => LengthsMutable[r]).ToArray());
    }

    /// <summary>
    /// A new one-row state holding the first <paramref name="tokens"/> tokens of this one-row state of an unpadded prompt
    /// (<see cref="KvCache.Head"/>), with room for <paramref name="room"/> more; its logits are not those of its last
    /// token (zeros): append at least one token before sampling from it.
    /// </summary>
    internal DecodeState Head(int tokens, int room)
    {
        using var scope = NewDisposeScope();
        var cache = Cache.Head(tokens, room);
        return new DecodeState(cache, zeros_like(Logits).DetachFromDisposeScope(), [tokens]);
    }

    /// <summary>
    /// A new state holding, one after another, rows <c>Rows</c> of each part (<see cref="KvCache.Join"/>): rows of
    /// different prompts and lengths joined into one batch without recomputation. The parts are unchanged.
    /// </summary>
    public static DecodeState Join(IReadOnlyList<(DecodeState State, int[] Rows)> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        var indices = parts.Select(p => (p.State ?? throw new ArgumentNullException(nameof(parts)), (p.Rows ?? throw new ArgumentNullException(nameof(parts))).Select(r => (long)r).ToArray())).ToArray();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var cache = KvCache.Join(indices.Select(p => (p.Item1.Cache, p.Item2)).ToArray());
        var logits = cat(indices.Select(p => p.Item1.Logits.index_select(0, tensor(p.Item2, device: p.Item1.Logits.device))).ToArray(), 0); // (B, V)
        var lengths = parts.SelectMany(p => p.Rows.Select(r => p.State.LengthsMutable[r])).ToArray();
        return new DecodeState(cache, logits.DetachFromDisposeScope(), lengths);
    }

    /// <summary>
    /// Overwrites row <paramref name="target"/>, in place, with row <paramref name="sourceRow"/> of
    /// <paramref name="source"/> (<see cref="KvCache.Place"/>): its cache, logits and length. The source is unchanged.
    /// </summary>
    public void Place(int target, DecodeState source, int sourceRow)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(sourceRow, source.Rows);
        Cache.Place(target, source.Cache, sourceRow);
        using var scope = NewDisposeScope();
        using var inference = inference_mode();                  // the buffers may be inference tensors (made while decoding)
        Logits[target].copy_(source.Logits[sourceRow]);
        LengthsMutable[target] = source.LengthsMutable[sourceRow];
    }

    internal void ReplaceLogits(Tensor logits)
    {
        if (ReferenceEquals(logits, Logits)) return;
        Logits.Dispose();
        Logits = logits;
    }

    /// <summary>Keeps only <paramref name="rows"/> (in that order): used when finished rows are dropped mid-batch.</summary>
    internal void Compact(long[] rows)
    {
        using var scope = NewDisposeScope();
        var cache = Cache.Select(rows);
        Cache.Dispose();
        Cache = cache;
        ReplaceLogits(Logits.index_select(0, tensor(rows, device: Logits.device)).DetachFromDisposeScope());
        LengthsMutable = rows.Select(r => LengthsMutable[r]).ToArray();
    }

    public void Dispose()
    {
        Cache.Dispose();
        Logits.Dispose();
    }
}
