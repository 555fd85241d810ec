using TorchSharp;
using static TorchSharp.torch;

namespace Ponder.Policy;

/// <summary>
/// Keys and values of every layer for a batch of independent rows, held outside the model so that callers
/// own it, fork it and free it. Filled by <see cref="Transformer.Forward(Tensor, KvCache, Tensor?)"/> (which appends
/// its tokens); inference only (use it under <c>no_grad</c> or <c>inference_mode</c>).
/// </summary>
/// <remarks>
/// Layout: per layer K and V buffers (B, kvHeads, Capacity, hs), a key-validity mask (B, Capacity) and a
/// next-position counter per row (B). An append of T tokens writes columns [Length, Length + T) for all
/// rows at once; a slot whose input is marked padding is invalid (no query ever attends to it) and does not
/// advance its row's position. Left-padded prompts of different lengths and rows that append fewer tokens
/// (holes) are both just invalid slots, so rows advance independently while sharing one column index.
/// Capacity grows by reallocation when an append needs more columns. Rotary positions stay below
/// <see cref="TransformerConfig.MaxPositions"/>; columns may exceed it only where there are holes.
/// </remarks>
public sealed class KvCache : IDisposable
{
    private readonly Tensor[] _keys;     // per layer (B, nkv, cap, hs)
    private readonly Tensor[] _values;   // per layer (B, nkv, cap, hs)
    private Tensor _valid;               // (B, cap) bool: slot holds a real token
    private readonly Tensor _positions;  // (B) int64: position the row's next real token gets
    private readonly int _maxPositions;
    private long _positionBound;         // host upper bound on max(_positions); avoids a sync per append
    private int _pending;                // columns written by the append in progress
    private Tensor? _pendingValid;       // its (B, T) validity (null: all real), for PendingMask

    /// <summary>An empty cache for <paramref name="batch"/> rows with room for <paramref name="capacity"/> columns.</summary>
    public KvCache(TransformerConfig config, int batch, int capacity, Device? device = null, ScalarType dtype = ScalarType.Float32)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        device ??= CPU;
        capacity = Math.Max(capacity, 1);
        Batch = batch;
        Capacity = capacity;
        Device = device;
        DType = dtype;
        KvHeads = config.NumKvHeads;
        HeadDim = config.HeadDim;
        _maxPositions = config.MaxPositions;
        _keys = new Tensor[config.NumLayers];
        _values = new Tensor[config.NumLayers];
        for (var i = 0; i < config.NumLayers; i++)
        {
            _keys[i] = zeros([batch, KvHeads, capacity, HeadDim], dtype, device).DetachFromDisposeScope();
            _values[i] = zeros([batch, KvHeads, capacity, HeadDim], dtype, device).DetachFromDisposeScope();
        }
        _valid = zeros([batch, capacity], ScalarType.Bool, device).DetachFromDisposeScope();
        _positions = zeros([batch], ScalarType.Int64, device).DetachFromDisposeScope();
    }

    private KvCache(KvCache source, Tensor[] keys, Tensor[] values, Tensor valid, Tensor positions, int batch, int length, int capacity)
    {
        (Batch, Length, Capacity, Device, DType) = (batch, length, capacity, source.Device, source.DType);
        (KvHeads, HeadDim, _maxPositions, _positionBound) = (source.KvHeads, source.HeadDim, source._maxPositions, source._positionBound);
        (_keys, _values, _valid, _positions) = (keys, values, valid, positions);
    }

    /// <summary>Rows.</summary>
    public int Batch { get; }

    /// <summary>Columns written so far (the same for every row; invalid slots included).</summary>
    public int Length { get; private set; }

    /// <summary>Columns allocated.</summary>
    public int Capacity { get; private set; }

    public int KvHeads { get; }

    public int HeadDim { get; }

    public Device Device { get; }

    public ScalarType DType { get; }

    /// <summary>Bytes the cache's buffers hold: keys and values of every layer at <see cref="Capacity"/>, the mask and positions.</summary>
    public long Bytes => 2L * _keys.Length * Batch * KvHeads * Capacity * HeadDim * _keys[0].element_size() + (long)Batch * Capacity + 8L * Batch;

    /// <summary>Copy of the key-validity mask of the written columns, (B, Length) bool.</summary>
    public Tensor Validity() => _valid.narrow(1, 0, Length).clone();

    /// <summary>Copy of the per-row next-position counters, (B) int64: real tokens each row holds.</summary>
    public Tensor Positions() => _positions.clone();

    /// <summary>
    /// Makes room for at least <paramref name="columns"/> columns in total, reallocating and copying when it must
    /// (by at least half the current capacity, so that repeated small reservations cost amortized O(1) copies).
    /// </summary>
    public void Reserve(int columns)
    {
        if (columns <= Capacity) return;
        columns = Math.Max(columns, Capacity + Capacity / 2);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        for (var i = 0; i < _keys.Length; i++)
        {
            _keys[i] = Grow(_keys[i], 2, columns);
            _values[i] = Grow(_values[i], 2, columns);
        }
        _valid = Grow(_valid, 1, columns);
        Capacity = columns;
    }

    /// <summary>
    /// A new cache whose row j is row <paramref name="rows"/>[j] of this one (duplicates allowed): n continuations
    /// of one prefix share its computed keys, and beam search reorders beams, without recomputing anything.
    /// The new cache owns copies (capacity = Length); this one is unchanged.
    /// </summary>
    public KvCache Select(long[] rows) => Select(rows, 0);

    /// <summary>As <see cref="Select(long[])"/>, with room for <paramref name="room"/> more columns (capacity = Length + room).</summary>
    internal KvCache Select(long[] rows, int room)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(room);
        if (rows.Length == 0) throw new ArgumentException("Select needs at least one row.", nameof(rows));
        RequireRows(rows, nameof(rows));
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var index = tensor(rows, device: Device);                                                  // (B')
        var length = Math.Max(Length, 1);
        var capacity = room == 0 ? length : Length + room;
        Tensor Take(Tensor t, int dim)
        {
            var picked = t.narrow(dim, 0, length).index_select(0, index);
            return capacity == length ? picked.contiguous().DetachFromDisposeScope() : Widened(picked, dim, capacity);
        }
        var keys = _keys.Select(k => Take(k, 2)).ToArray();                                        // (B', nkv, C, hs)
        var values = _values.Select(v => Take(v, 2)).ToArray();                                    // (B', nkv, C, hs)
        var valid = Take(_valid, 1);                                                               // (B', C)
        var positions = _positions.index_select(0, index).DetachFromDisposeScope();                // (B')
        return new KvCache(this, keys, values, valid, positions, rows.Length, Length, capacity);
    }

    /// <summary>
    /// A new one-row cache holding the first <paramref name="columns"/> columns of this one-row cache, whose columns
    /// must all hold real tokens (a prompt prefilled without padding): the keys of a prompt's first tokens, to continue
    /// another prompt that starts with them. With room for <paramref name="room"/> more columns.
    /// </summary>
    internal KvCache Head(int columns, int room)
    {
        if (Batch != 1) throw new InvalidOperationException("Head needs a cache of one row.");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(columns);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(columns, Length);
        ArgumentOutOfRangeException.ThrowIfNegative(room);
        if (_pending != 0) throw new InvalidOperationException("Head of a cache with an append in progress.");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        if (!_valid.narrow(1, 0, columns).all().item<bool>()) throw new InvalidOperationException("Head needs columns that all hold real tokens.");
        var capacity = columns + room;
        Tensor Take(Tensor t, int dim) => Widened(t.narrow(dim, 0, columns), dim, capacity);
        var keys = _keys.Select(k => Take(k, 2)).ToArray();                                        // (1, nkv, C, hs)
        var values = _values.Select(v => Take(v, 2)).ToArray();                                    // (1, nkv, C, hs)
        var valid = Take(_valid, 1);                                                               // (1, C)
        var positions = full([1], (long)columns, ScalarType.Int64, Device).DetachFromDisposeScope(); // (1)
        return new KvCache(this, keys, values, valid, positions, 1, columns, capacity) { _positionBound = columns };
    }

    /// <summary>
    /// A new cache holding, one after another, rows <c>Rows</c> of each part's cache: how a server joins the rows of
    /// newly arrived requests to a batch being decoded. Each part's columns keep their order and end at the new
    /// cache's last column (a shorter part gets invalid columns in front, as a left-padded prompt does); columns that
    /// none of a part's rows holds a real token in are left out at the front, so that the columns of rows gone from
    /// the batch do not pile up. Positions and slot validity come with the rows; the parts are unchanged. All parts
    /// must come from one model (layers, heads, element type, device).
    /// </summary>
    public static KvCache Join(IReadOnlyList<(KvCache Cache, long[] Rows)> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Count == 0 || parts.Any(p => p.Rows is null || p.Rows.Length == 0)) throw new ArgumentException("Join needs parts with at least one row each.", nameof(parts));
        var first = parts[0].Cache;
        foreach (var (cache, rows) in parts)
        {
            if (!cache.SameModel(first) || cache._maxPositions != first._maxPositions)
                throw new ArgumentException("Join needs caches of one model (layers, heads, element type and device alike).", nameof(parts));
            if (cache._pending != 0) throw new InvalidOperationException("Join of a cache with an append in progress.");
            cache.RequireRows(rows, nameof(parts));
        }
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var device = first.Device;
        var spans = parts.Select(p =>
        {
            var start = p.Cache.FirstHeld(p.Rows);
            return (Index: tensor(p.Rows, device: device), Start: start, Width: p.Cache.Length - start);
        }).ToArray();
        var length = spans.Max(s => s.Width);
        var capacity = Math.Max(length, 1);
        var batch = parts.Sum(p => p.Rows.Length);
        Tensor Joined(Func<KvCache, Tensor> buffer, int dim)
        {
            var shape = buffer(first).shape.ToArray();
            (shape[0], shape[dim]) = (batch, capacity);
            var joined = zeros(shape, buffer(first).dtype, device);
            for (int i = 0, row = 0; i < parts.Count; row += parts[i].Rows.Length, i++)
                if (spans[i].Width > 0)
                    joined.narrow(0, row, parts[i].Rows.Length).narrow(dim, length - spans[i].Width, spans[i].Width)
                        .copy_(buffer(parts[i].Cache).narrow(dim, spans[i].Start, spans[i].Width).index_select(0, spans[i].Index));
            return joined.DetachFromDisposeScope();
        }
        var keys = Enumerable.Range(0, first._keys.Length).Select(layer => Joined(c => c._keys[layer], 2)).ToArray();     // (B, nkv, L, hs)
        var values = Enumerable.Range(0, first._keys.Length).Select(layer => Joined(c => c._values[layer], 2)).ToArray(); // (B, nkv, L, hs)
        var valid = Joined(c => c._valid, 1);                                                                     // (B, L)
        var positions = cat(parts.Select((p, i) => p.Cache._positions.index_select(0, spans[i].Index)).ToArray(), 0).DetachFromDisposeScope(); // (B)
        return new KvCache(first, keys, values, valid, positions, batch, length, capacity) { _positionBound = parts.Max(p => p.Cache._positionBound) };
    }

    /// <summary>
    /// Columns that row <paramref name="row"/> spans: from its first real token to the last written column (0 when it
    /// holds none). <see cref="Place"/> needs that many columns in the cache it places the row into.
    /// </summary>
    public int HeldColumns(long row)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(row);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(row, Batch);
        return Length - FirstHeld([row]);
    }

    /// <summary>The first column that any of <paramref name="rows"/> holds a real token in; <see cref="Length"/> when none does.</summary>
    public int FirstHeld(long[] rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (Length == 0 || rows.Length == 0) return Length;
        if (Device.type == DeviceType.CPU) return FirstHeldOnCpu(rows);
        using var scope = NewDisposeScope();
        var held = _valid.narrow(1, 0, Length).index_select(0, tensor(rows, device: Device)).any(0);       // (L)
        return held.any().item<bool>() ? (int)held.to(ScalarType.Int64).argmax().item<long>() : Length;
    }

    /// <summary>
    /// Overwrites row <paramref name="target"/> of this cache, in place, with row <paramref name="sourceRow"/> of
    /// <paramref name="source"/> (a cache of the same model): its held columns are copied to end at this cache's last
    /// written column, every other column of the row becomes invalid, and its position comes along. How a server puts
    /// an arriving request into the row of one that ended without copying the rest of the batch. The row must fit:
    /// <c>source.HeldColumns(sourceRow)</c> ≤ <see cref="Length"/>.
    /// </summary>
    public void Place(long target, KvCache source, long sourceRow)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfNegative(target);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(target, Batch);
        if (!source.SameModel(this))
            throw new ArgumentException("Place needs a cache of the same model (layers, heads, element type and device alike).", nameof(source));
        if (_pending != 0 || source._pending != 0) throw new InvalidOperationException("Place with an append in progress.");
        var width = source.HeldColumns(sourceRow);
        if (width > Length) throw new ArgumentException($"The row spans {width} columns, more than the {Length} this cache has written.", nameof(source));
        var (from, to) = (source.Length - width, Length - width);
        if (Device.type == DeviceType.CPU && source.Device.type == DeviceType.CPU) PlaceOnCpu(target, source, sourceRow, from, to, width);
        else
        {
            using var scope = NewDisposeScope();
            using var inference = inference_mode();              // the buffers may be inference tensors (made while decoding)
            for (var i = 0; i < _keys.Length; i++)
            {
                _keys[i][target].narrow(1, to, width).copy_(source._keys[i][sourceRow].narrow(1, from, width));
                _values[i][target].narrow(1, to, width).copy_(source._values[i][sourceRow].narrow(1, from, width));
            }
            var slots = _valid[target];
            slots.narrow(0, 0, to).fill_(Scalars.False);
            slots.narrow(0, to, width).copy_(source._valid[sourceRow].narrow(0, from, width));
            _positions[target].copy_(source._positions[sourceRow]);
        }
        _positionBound = Math.Max(_positionBound, source._positionBound);
    }

    // Whether `other` holds keys and values of the same shape and kind (layers, heads, head size, element type, device).
    private bool SameModel(KvCache other) =>
        other._keys.Length == _keys.Length && other.KvHeads == KvHeads && other.HeadDim == HeadDim && other.DType == DType && other.Device.type == Device.type;

    private void RequireRows(long[] rows, string parameter)
    {
        foreach (var r in rows)
            if (r < 0 || r >= Batch) throw new ArgumentOutOfRangeException(parameter, $"Row {r} is outside 0..{Batch - 1}.");
    }

    private unsafe int FirstHeldOnCpu(long[] rows)
    {
        var slots = (bool*)SmallRowOps.Address(_valid);
        var first = Length;
        RequireRows(rows, nameof(rows));
        foreach (var row in rows)
        {
            var held = new Span<bool>(slots + row * Capacity, first).IndexOf(true);
            if (held >= 0) first = held;
        }
        return first;
    }

    // Place's copies as memory copies on the buffers (every buffer is contiguous: made whole, never a view): a few
    // microseconds instead of some fifty libtorch calls, for a server that places arriving rows at every few steps.
    private unsafe void PlaceOnCpu(long target, KvCache source, long sourceRow, int from, int to, int width)
    {
        for (var i = 0; i < _keys.Length; i++)
            foreach (var (mine, theirs) in new[] { (_keys[i], source._keys[i]), (_values[i], source._values[i]) })
            {
                var size = mine.ElementSize;
                var dst = (byte*)SmallRowOps.Address(mine);
                var src = (byte*)SmallRowOps.Address(theirs);
                var bytes = (long)width * HeadDim * size;
                for (var h = 0; h < KvHeads; h++)
                    Buffer.MemoryCopy(src + (((sourceRow * KvHeads + h) * source.Capacity + from) * HeadDim * size),
                        dst + (((target * KvHeads + h) * Capacity + to) * HeadDim * size), bytes, bytes);
            }
        var slots = (bool*)SmallRowOps.Address(_valid) + target * Capacity;
        var given = (bool*)SmallRowOps.Address(source._valid) + sourceRow * source.Capacity;
        new Span<bool>(slots, to).Clear();
        new Span<bool>(given + from, width).CopyTo(new Span<bool>(slots + to, width));
        ((long*)SmallRowOps.Address(_positions))[target] = ((long*)SmallRowOps.Address(source._positions))[sourceRow];
    }

    /// <summary>
    /// Starts an append of <paramref name="t"/> columns: records which new slots are real (<paramref name="valid"/>
    /// (B, T) bool, null = all), advances positions, and returns the positions of the new tokens (B, T).
    /// <see cref="PendingMask"/> gives its attention mask.
    /// </summary>
    internal Tensor BeginAppend(int t, Tensor? valid, bool checkPositions)
    {
        if (_pending != 0) throw new InvalidOperationException("An append is already in progress.");
        if (t <= 0) throw new ArgumentOutOfRangeException(nameof(t), "Append at least one column.");
        if (Length + t > Capacity) Reserve(Length + t);
        var l = Length;
        var check = checkPositions && _positionBound + t > _maxPositions;
        if (t == 1 && valid is null && !check && Device.type == DeviceType.CPU && _valid.is_contiguous() && _positions.is_contiguous())
        {
            _pendingValid = null;
            return DecodeStep(l);
        }

        var counts = valid?.to(ScalarType.Int64);                                              // (B, T)
        var positions = counts is null                                                         // (B, T)
            ? (t == 1 ? _positions.clone() : _positions.unsqueeze(1) + arange(t, ScalarType.Int64, Device)).view(Batch, t)
            : _positions.unsqueeze(1) + counts.cumsum(1) - counts;
        if (check) CheckPositions(positions, valid);
        _positionBound += t;
        using Scalar columns = t;                                                              // held for the call (Scalars)
        if (counts is null) _positions.add_(columns);
        else _positions.add_(counts.sum(1));
        if (valid is null) _valid.narrow(1, l, t).fill_(Scalars.True);
        else _valid.narrow(1, l, t).copy_(valid);

        _pending = t;
        _pendingValid = valid;
        return positions;
    }

    // BeginAppend's bookkeeping for one real token a row on the CPU, on the buffers' memory: the same positions and slots
    // as its libtorch ops, without their five calls (a decode step of a small model takes a few hundred microseconds).
    private unsafe Tensor DecodeStep(int column)
    {
        var positions = empty([Batch, 1], ScalarType.Int64);                                   // (B, 1)
        var next = (long*)SmallRowOps.Address(_positions);
        var given = (long*)SmallRowOps.Address(positions);
        var slots = (bool*)SmallRowOps.Address(_valid);
        for (var b = 0; b < Batch; b++)
        {
            given[b] = next[b]++;
            slots[(long)b * Capacity + column] = true;
        }
        _positionBound += 1;
        _pending = 1;
        return positions;
    }

    /// <summary>
    /// The attention mask (B, 1, T, S) of the append in progress, S = Length + T: a query sees the real keys up to and
    /// including its own column, and always its own slot (so padding queries stay finite; no real query sees padding).
    /// </summary>
    internal Tensor PendingMask()
    {
        if (_pending == 0) throw new InvalidOperationException("No append is in progress.");
        return Mask(Length, _pending, _pendingValid);
    }

    // True where a query may attend a key: real keys up to its own column, plus always its own slot.
    private Tensor Mask(int l, int t, Tensor? valid)
    {
        var s = l + t;
        var keyValid = _valid.narrow(1, 0, s);                                                 // (B, S)
        if (t == 1)
        {
            // Decode: causality is automatic; the own slot is already valid unless this row is padding.
            if (valid is null) return keyValid.view(Batch, 1, 1, s);                         // (B, 1, 1, S)
            var mask = keyValid.clone();                                                       // (B, S)
            mask.narrow(1, l, 1).fill_(Scalars.True);
            return mask.view(Batch, 1, 1, s);                                                 // (B, 1, 1, S)
        }
        var keyCols = arange(s, ScalarType.Int64, Device).unsqueeze(0);                         // (1, S)
        var queryCols = arange(l, s, 1, ScalarType.Int64, Device).unsqueeze(1);                 // (T, 1)
        var visible = keyValid.unsqueeze(1) & keyCols.le(queryCols).unsqueeze(0);              // (B, T, S)
        return (visible | keyCols.eq(queryCols).unsqueeze(0)).unsqueeze(1);                    // (B, 1, T, S)
    }

    /// <summary>Writes one layer's new keys and values (B, nkv, T, hs) and returns all S columns (B, nkv, S, hs).</summary>
    internal (Tensor Keys, Tensor Values) Write(int layer, Tensor k, Tensor v)
    {
        if (_pending == 0) throw new InvalidOperationException("Write outside an append.");
        _keys[layer].narrow(2, Length, _pending).copy_(k);
        _values[layer].narrow(2, Length, _pending).copy_(v);
        var s = Length + _pending;
        return (_keys[layer].narrow(2, 0, s), _values[layer].narrow(2, 0, s));
    }

    /// <summary>
    /// One layer's whole key and value buffers (B, nkv, Capacity, hs) and the columns [Start, Start + Count) that the
    /// append in progress fills: for <see cref="SmallRowOps.CachedAttention"/>, which writes and reads them in place.
    /// </summary>
    internal (Tensor Keys, Tensor Values, int Start, int Count) Buffers(int layer)
    {
        if (_pending == 0) throw new InvalidOperationException("Buffers outside an append.");
        return (_keys[layer], _values[layer], Length, _pending);
    }

    /// <summary>The slot-validity buffer (B, Capacity) bool itself, for <see cref="FusedAppend"/>, which reads the mask from it.</summary>
    internal Tensor Slots => _valid;

    /// <summary>Ends the append started by <see cref="BeginAppend"/>: the new columns become part of <see cref="Length"/>.</summary>
    internal void EndAppend()
    {
        Length += _pending;
        (_pending, _pendingValid) = (0, null);
    }

    /// <summary>
    /// Undoes the append started by <see cref="BeginAppend"/> when its pass failed (a bad token id, memory): positions
    /// go back and the new slots become invalid again, so the cache is as it was and later appends see no half-written
    /// columns.
    /// </summary>
    internal void AbortAppend()
    {
        if (_pending == 0) return;
        if (_pendingValid is null)                                         // every row moved by the append's columns
        {
            using Scalar columns = _pending;
            _positions.sub_(columns);
        }
        else _positions.sub_(_pendingValid.to(ScalarType.Int64).sum(1));  // each row by its real tokens, as BeginAppend moved it
        _valid.narrow(1, Length, _pending).fill_(Scalars.False);
        _positionBound -= _pending;
        (_pending, _pendingValid) = (0, null);
    }

    /// <summary>Lets the caller tell the cache the exact largest next position, when it tracks positions itself.</summary>
    internal void SetPositionBound(long bound) => _positionBound = bound;

    private void CheckPositions(Tensor positions, Tensor? valid)
    {
        var real = valid is null ? positions : positions.masked_fill(valid.logical_not(), Scalars.MinusOne);   // (B, T)
        var largest = real.max().item<long>();
        if (largest >= _maxPositions)
            throw new InvalidOperationException($"Position {largest} is beyond max_position_embeddings = {_maxPositions}.");
        _positionBound = _positions.max().item<long>();
    }

    private static Tensor Grow(Tensor t, int dim, int columns)
    {
        var grown = Widened(t, dim, columns);
        t.Dispose();
        return grown;
    }

    // A zeroed buffer shaped like `t` but `capacity` long along `dim`, with `t` copied at its front (detached from the scope).
    private static Tensor Widened(Tensor t, int dim, int capacity)
    {
        var shape = t.shape.ToArray();
        shape[dim] = capacity;
        var whole = zeros(shape, t.dtype, t.device);
        whole.narrow(dim, 0, t.shape[dim]).copy_(t);
        return whole.DetachFromDisposeScope();
    }

    public void Dispose()
    {
        foreach (var t in _keys.Concat(_values)) t.Dispose();
        _valid.Dispose();
        _positions.Dispose();
    }
}
