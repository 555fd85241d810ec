// Contract: the engine knows token ids, not tasks. It runs a Transformer over batches of token-id rows with an
// explicit KV cache, samples with a seeded generator, and stops each row at EOS, at a stop string, or at a length
// limit. The tokenizer is used only to decode (stop-string matching and the returned text). Prompts, steps,
// answers and rewards belong to the callers (tasks, search, learning).
using System.Diagnostics;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Ponder.Policy;

/// <summary>
/// Batched generation with a KV cache: prompts of different lengths in one batch (left padding is masked out),
/// per-row stopping, per-token model log-probabilities, and forks of a shared prefix for trees.
/// Not thread-safe: one generator per thread.
/// </summary>
/// <remarks>
/// Per decode step there is one device→host copy (the sampled ids with their log-probabilities, to check EOS and
/// stop strings; on the CPU they are read in place); everything else stays on the model's device. Finished rows are
/// dropped from the batch when at most half remain (for <see cref="Generate"/> and <see cref="GenerateFromPrefix"/>; <see cref="Continue"/> keeps
/// every row since its state must stay whole, feeding padding for finished rows).
/// </remarks>
public sealed class Generator
{
    private readonly Transformer _model;
    private readonly ITokenizer _tokenizer;
    private bool[]? _newline;                                                           // token → its text holds '\n'

    public Generator(Transformer model, ITokenizer tokenizer)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        _tokens = Math.Min(tokenizer.VocabSize, model.Config.VocabSize);
        _ends = [.. tokenizer.EndIds];
    }

    // The ids that end a row (EOS and the model's other end tokens).
    private readonly HashSet<int> _ends;

    /// <summary>The ids that end a row: the tokenizer's <see cref="ITokenizer.EndIds"/>, as a set (the server's batch reads it too).</summary>
    internal HashSet<int> Ends => _ends;

    // Ids the tokenizer defines: a model's vocabulary may be padded beyond them (Qwen2.5: 151,936 rows for 151,665 ids),
    // and no row's logits may pick a padding id, which has no text.
    private readonly int _tokens;

    // `logits` (B, V) with the padding ids (those beyond the tokenizer's) at −∞, in place; as they are when there are none.
    private Tensor Sampleable(Tensor logits)
    {
        if (_tokens < _model.Config.VocabSize) logits.narrow(-1, _tokens, _model.Config.VocabSize - _tokens).fill_(float.NegativeInfinity);
        return logits;
    }

    // Refuses a token id outside the model's vocabulary before any of it reaches the model (and its cache).
    private void RequireIds(IReadOnlyList<int[]> rows, string name)
    {
        for (var row = 0; row < rows.Count; row++)
            foreach (var id in rows[row] ?? [])
                RequireId(id, row, name);
    }

    private void RequireId(long id, int row, string name)
    {
        if (id < 0 || id >= _model.Config.VocabSize)
            throw new ArgumentOutOfRangeException(name, $"Token id {id} of row {row} is outside the vocabulary (0..{_model.Config.VocabSize - 1}).");
    }

    public Transformer Model => _model;

    public ITokenizer Tokenizer => _tokenizer;

    /// <summary>
    /// Turns at the model shared with other generators on other threads (null: none): each model call here (a
    /// prefill, an append, one decode step) waits for its turn, so generators over one model may run on several threads.
    /// The wall times (<see cref="PrefillTime"/>, <see cref="DecodeTime"/>) include those waits. On the CPU each call
    /// draws its noise from its own seeded stream; on CUDA the device's one seeded generator serves every thread, so
    /// sampled text on two threads at once depends on how their steps interleave.
    /// </summary>
    public ModelTurns? Turns { get; init; }

    /// <summary>A generator of its own over the same model and tokenizer, taking <paramref name="turns"/> at the model.</summary>
    public Generator Taking(ModelTurns turns) => new(_model, _tokenizer) { Turns = turns ?? throw new ArgumentNullException(nameof(turns)) };

    // This thread's turn at the model until disposed (none without Turns).
    private ModelTurns.Turn Turn() => ModelTurns.TakeOrNone(Turns);

    /// <summary>Real tokens run through the model in parallel (prompts in <see cref="Prefill"/>, <see cref="Append"/>), summed over rows.</summary>
    public long PrefillTokens { get; private set; }

    /// <summary>Real tokens run through the model one step at a time while generating, summed over rows (padding not counted).</summary>
    public long DecodeTokens { get; private set; }

    /// <summary>
    /// Wall time spent prefilling (<see cref="Prefill"/>, <see cref="Append"/>, and forking a prefilled prompt's cache to
    /// its rows), as llama-bench's prompt processing.
    /// </summary>
    public TimeSpan PrefillTime { get; private set; }

    /// <summary>Wall time spent in decode loops (sampling and one-token steps), as llama-bench's token generation.</summary>
    public TimeSpan DecodeTime { get; private set; }

    public void ResetCounters() => (PrefillTokens, DecodeTokens, PrefillTime, DecodeTime) = (0, 0, TimeSpan.Zero, TimeSpan.Zero);

    /// <summary>
    /// Samples a continuation of every prompt, all in one batch. A prompt given more than once (several samples of a
    /// problem) is prefilled once and its KV cache forked to its rows.
    /// </summary>
    public IReadOnlyList<Generation> Generate(IReadOnlyList<int[]> prompts, SamplingOptions options)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var (distinct, rowOf) = Distinct(prompts);
        // The cache gets room for the decode steps where it is made, as llama.cpp allocates its KV cache before the
        // tokens it generates: no reallocation and copy of the prompts' columns when decoding starts.
        var room = Room(prompts.Select(p => p?.Length ?? 0).DefaultIfEmpty(0).Min(), options);
        if (distinct.Count == prompts.Count)
        {
            using var state = Timed(() => PrefillUntimed(prompts, room), prefill: true);
            return Decode(state, options, keepState: false);
        }
        using var shared = Prefill(distinct);
        using var forked = Timed(() => shared.Fork(rowOf, room), prefill: true);
        return Decode(forked, options, keepState: false);
    }

    /// <summary>
    /// Whether <see cref="Generate"/> and <see cref="GenerateFromPrefix"/> make the KV cache with room for the decode
    /// steps at the prefill (the default) rather than growing it when decoding starts; the benchmark's
    /// <c>--room-at-prefill</c> compares the two.
    /// </summary>
    internal static bool RoomAtPrefill = true;

    /// <summary>Columns a decode of <paramref name="options"/> may append to rows whose shortest holds <paramref name="shortest"/> tokens.</summary>
    /// <remarks>The decode loop reserves as many itself (<see cref="KvCache.Reserve"/>), so the room costs no more memory than before.</remarks>
    private int Room(int shortest, SamplingOptions options) =>
        RoomAtPrefill ? (int)Math.Max(0, Math.Min(options.MaxNewTokens, _model.Config.MaxPositions - shortest)) : 0;

    /// <summary>The prompts without repeats (in first-seen order), and each prompt's index among them.</summary>
    private static (List<int[]> Distinct, int[] RowOf) Distinct(IReadOnlyList<int[]> prompts)
    {
        var index = new Dictionary<int[], int>(PromptComparer.Instance);
        var distinct = new List<int[]>();
        var rowOf = new int[prompts.Count];
        for (var i = 0; i < prompts.Count; i++)
        {
            if (prompts[i] is null) return ([.. prompts], [.. Enumerable.Range(0, prompts.Count)]);      // Prefill names it
            if (index.TryGetValue(prompts[i], out rowOf[i])) continue;
            index[prompts[i]] = rowOf[i] = distinct.Count;
            distinct.Add(prompts[i]);
        }
        return (distinct, rowOf);
    }

    private sealed class PromptComparer : IEqualityComparer<int[]>
    {
        public static readonly PromptComparer Instance = new();
        public bool Equals(int[]? x, int[]? y) => x.AsSpan().SequenceEqual(y);
        public int GetHashCode(int[] ids)
        {
            var hash = new HashCode();
            hash.AddBytes(MemoryMarshal.AsBytes(ids.AsSpan()));
            return hash.ToHashCode();
        }
    }

    /// <summary>
    /// <paramref name="n"/> continuations of one prefix: the prefix is prefilled once and its KV cache forked.
    /// Throws <see cref="OperationCanceledException"/> between decode steps once <paramref name="cancellation"/> fires.
    /// </summary>
    public IReadOnlyList<Generation> GenerateFromPrefix(int[] prefix, int n, SamplingOptions options, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(n);
        options.Validate();
        using var state = Prefill([prefix]);
        using var forked = Timed(() => state.Fork(new int[n], Room(prefix?.Length ?? 0, options)), prefill: true);
        return Decode(forked, options, keepState: false, cancellation);
    }

    /// <summary>Runs the prompts (each non-empty) through the model, left-padded into one batch.</summary>
    public DecodeState Prefill(IReadOnlyList<int[]> prompts) => Prefill(prompts, 0);

    /// <summary>As <see cref="Prefill(IReadOnlyList{int[]})"/>, the cache with room for <paramref name="room"/> more columns.</summary>
    internal DecodeState Prefill(IReadOnlyList<int[]> prompts, int room) => Timed(() => PrefillUntimed(prompts, room), prefill: true);

    // The prefill, its cache with room for `room` more columns.
    private DecodeState PrefillUntimed(IReadOnlyList<int[]> prompts, int room)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        if (prompts.Count == 0) throw new ArgumentException("Give at least one prompt.", nameof(prompts));
        var lengths = prompts.Select((p, i) => p is { Length: > 0 } ? (long)p.Length
            : throw new ArgumentException($"Prompt {i} is empty; start it with BOS.", nameof(prompts))).ToArray();
        var (b, t) = (prompts.Count, (int)lengths.Max());
        if (t > _model.Config.MaxPositions)
            throw new ArgumentException($"A prompt has {t} tokens, more than max_position_embeddings = {_model.Config.MaxPositions}.", nameof(prompts));
        RequireIds(prompts, nameof(prompts));

        var ids = new long[b * t];
        var valid = new bool[b * t];
        Array.Fill(ids, _tokenizer.Pad);
        for (var row = 0; row < b; row++)
        {
            var offset = row * t + t - prompts[row].Length;
            for (var i = 0; i < prompts[row].Length; i++) (ids[offset + i], valid[offset + i]) = (prompts[row][i], true);
        }

        using var turn = Turn();
        using var inference = inference_mode();
        using var scope = NewDisposeScope();
        var cache = _model.NewCache(b, t + room);
        var idsT = tensor(ids, [b, t], device: _model.Device);                                   // (B, T)
        var validT = lengths.All(l => l == t) ? null : tensor(valid, [b, t], device: _model.Device); // (B, T)
        var hidden = _model.Hidden(idsT, cache, validT, checkPositions: false);                 // (B, T, C)
        var logits = Sampleable(_model.Logits(hidden.select(1, t - 1)));                        // (B, V)
        cache.SetPositionBound(t);
        PrefillTokens += lengths.Sum();
        return new DecodeState(cache, logits.DetachFromDisposeScope(), lengths);
    }

    /// <summary>Feeds extra tokens to each row (lengths may differ, including zero); rows' logits move to their new last token.</summary>
    public void Append(DecodeState state, IReadOnlyList<int[]> tokens) => Timed(() => AppendUntimed(state, tokens), prefill: true);

    private void AppendUntimed(DecodeState state, IReadOnlyList<int[]> tokens)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(tokens);
        if (tokens.Count != state.Rows) throw new ArgumentException($"Got {tokens.Count} rows of tokens for {state.Rows} rows.", nameof(tokens));
        var counts = tokens.Select(x => x?.Length ?? 0).ToArray();
        var t = counts.Max();
        if (t == 0) return;
        var lengths = state.LengthsMutable;
        for (var row = 0; row < counts.Length; row++)
            if (lengths[row] + counts[row] > _model.Config.MaxPositions)
                throw new ArgumentException($"Row {row} would hold {lengths[row] + counts[row]} tokens, more than max_position_embeddings = {_model.Config.MaxPositions}.", nameof(tokens));
        RequireIds(tokens, nameof(tokens));

        var b = state.Rows;
        var ids = new long[b * t];
        var valid = new bool[b * t];
        Array.Fill(ids, _tokenizer.Pad);
        for (var row = 0; row < b; row++)
            for (var i = 0; i < counts[row]; i++) (ids[row * t + i], valid[row * t + i]) = (tokens[row][i], true);

        using var turn = Turn();
        using var inference = inference_mode();
        using var scope = NewDisposeScope();
        var device = _model.Device;
        var idsT = tensor(ids, [b, t], device: device);                                            // (B, T)
        var validT = counts.All(c => c == t) ? null : tensor(valid, [b, t], device: device);       // (B, T)
        var hidden = _model.Hidden(idsT, state.Cache, validT, checkPositions: false);               // (B, T, C)
        var last = tensor(counts.Select(c => (long)Math.Max(c - 1, 0)).ToArray(), device: device); // (B)
        var index = last.view(b, 1, 1).expand(b, 1, hidden.shape[2]);                                 // (B, 1, C)
        var logits = Sampleable(_model.Logits(hidden.gather(1, index).squeeze(1)));                 // (B, V)
        if (counts.Any(c => c == 0))
        {
            var fed = tensor(counts.Select(c => c > 0).ToArray(), device: device).unsqueeze(1);      // (B, 1)
            logits = where(fed, logits, state.Logits);                                             // (B, V)
        }
        state.ReplaceLogits(logits.DetachFromDisposeScope());
        for (var row = 0; row < b; row++) lengths[row] += counts[row];
        state.Cache.SetPositionBound(lengths.Max());
        PrefillTokens += counts.Sum();
    }

    /// <summary>
    /// One decode step with tokens chosen by the caller: appends <paramref name="tokens"/>[j] to row j where
    /// <paramref name="feed"/>[j] (the other rows get an empty slot and keep their logits) and moves the state's logits
    /// on. For callers that sample each row their own way (<see cref="Sampler.SampleRows"/>) and track stops themselves.
    /// </summary>
    public void Feed(DecodeState state, IReadOnlyList<long> tokens, IReadOnlyList<bool> feed) => Timed(() => FeedUntimed(state, tokens, feed), prefill: false);

    private void FeedUntimed(DecodeState state, IReadOnlyList<long> tokens, IReadOnlyList<bool> feed)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(feed);
        var b = state.Rows;
        if (tokens.Count != b || feed.Count != b) throw new ArgumentException($"Got {tokens.Count} tokens and {feed.Count} feed flags for {b} rows.", nameof(tokens));
        var lengths = state.LengthsMutable;
        var ids = new long[b];
        for (var j = 0; j < b; j++)
        {
            if (!feed[j]) { ids[j] = _tokenizer.Pad; continue; }
            RequireId(tokens[j], j, nameof(tokens));
            if (lengths[j] >= _model.Config.MaxPositions)
                throw new ArgumentException($"Row {j} already holds {lengths[j]} tokens, max_position_embeddings = {_model.Config.MaxPositions}.", nameof(tokens));
            ids[j] = tokens[j];
        }
        var fed = feed.Count(f => f);
        if (fed == 0) return;

        using var turn = Turn();
        using var inference = inference_mode();
        using var scope = NewDisposeScope();
        Step(state, tensor(ids, [b, 1], device: _model.Device), [.. feed], fed);
        for (var j = 0; j < b; j++)
            if (feed[j]) lengths[j]++;
        state.Cache.SetPositionBound(lengths.Max());
    }

    // One decode step of `ids` (B, 1): rows whose `feed` is false (`fed` rows are true) get an empty slot and keep their
    // logits. Inside a dispose scope, under inference mode.
    private void Step(DecodeState state, Tensor ids, bool[] feed, int fed)
    {
        var validT = fed == feed.Length ? null : tensor(feed, device: _model.Device).unsqueeze(1); // (B, 1)
        var logits = Sampleable(_model.StepLogits(ids, state.Cache, validT));                   // (B, V)
        if (validT is not null) logits = where(validT, logits, state.Logits);                   // (B, V)
        state.ReplaceLogits(logits.DetachFromDisposeScope());
        DecodeTokens += fed;
    }

    /// <summary>
    /// Samples from the state's last logits and appends the sampled tokens to it, row by row until each row stops.
    /// Afterwards the state holds prompt + everything generated (stop strings and EOS included) and can be forked
    /// and continued again. Reseeded from <see cref="SamplingOptions.Seed"/> on every call: vary the seed between
    /// calls that should differ. Throws <see cref="OperationCanceledException"/> between decode steps once
    /// <paramref name="cancellation"/> fires, leaving the state part-way (dispose it). With <paramref name="rowMaxNewTokens"/>
    /// row r generates at most that many tokens (and at most <see cref="SamplingOptions.MaxNewTokens"/>), ending with
    /// <see cref="FinishReason.Length"/> there: rows with different room left decode in one batch on one noise stream.
    /// </summary>
    public IReadOnlyList<Generation> Continue(DecodeState state, SamplingOptions options, CancellationToken cancellation = default,
        IReadOnlyList<int>? rowMaxNewTokens = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (rowMaxNewTokens is not null && (rowMaxNewTokens.Count != state.Rows || rowMaxNewTokens.Any(m => m < 0)))
            throw new ArgumentException($"rowMaxNewTokens needs one count of at least 0 for each of the state's {state.Rows} rows", nameof(rowMaxNewTokens));
        return Decode(state, options, keepState: true, cancellation, rowMaxNewTokens);
    }

    private IReadOnlyList<Generation> Decode(DecodeState state, SamplingOptions options, bool keepState, CancellationToken cancellation = default,
        IReadOnlyList<int>? rowMaxNewTokens = null) =>
        Timed(() => DecodeUntimed(state, options, keepState, cancellation, rowMaxNewTokens), prefill: false);

    // The work's result, its wall time added to PrefillTime or DecodeTime (also when it throws).
    private T Timed<T>(Func<T> work, bool prefill)
    {
        var start = Stopwatch.GetTimestamp();
        try { return work(); }
        finally
        {
            var elapsed = Stopwatch.GetElapsedTime(start);
            if (prefill) PrefillTime += elapsed;
            else DecodeTime += elapsed;
        }
    }

    private void Timed(Action work, bool prefill) => Timed(() => { work(); return 0; }, prefill);

    private IReadOnlyList<Generation> DecodeUntimed(DecodeState state, SamplingOptions options, bool keepState, CancellationToken cancellation,
        IReadOnlyList<int>? rowMaxNewTokens)
    {
        var rows = state.Rows;
        var maxPositions = _model.Config.MaxPositions;
        var outputs = Enumerable.Range(0, rows).Select(_ => new RowOutput()).ToArray();
        var map = Enumerable.Range(0, rows).ToArray();                 // batch index → original row
        for (var row = 0; row < rows; row++)
            if (state.LengthsMutable[row] >= maxPositions || options.MaxNewTokens == 0 || rowMaxNewTokens?[row] == 0) outputs[row].Finish = FinishReason.Length;

        using var inference = inference_mode();
        // On the CPU the noise is drawn in C# (libtorch's CPU stream for the seed); on a GPU, from its seeded default generator.
        var draws = _model.Device.type == DeviceType.CPU ? new UniformDraws((ulong)options.Seed) : null;
        if (draws is null) torch.cuda.manual_seed_all(options.Seed);                           // the model's device, whichever it is
        var steps = (int)Math.Min(options.MaxNewTokens, maxPositions - state.LengthsMutable.Min()); // most steps any row can take
        state.Cache.Reserve(state.Cache.Length + Math.Max(steps, 0));
        var stopWindow = StopStrings.Window(options.Stop);

        for (var step = 0; step < options.MaxNewTokens; step++)
        {
            if (outputs.All(o => o.Finish is not null)) break;
            cancellation.ThrowIfCancellationRequested();
            using var turn = Turn();
            using var scope = NewDisposeScope();
            var b = map.Length;
            var sample = Sampler.Sample(state.Logits, options, draws);
            var (hostTokens, hostLogProbs) = ToHost(sample);                                         // (B), (B)

            var feed = new bool[b];
            for (var j = 0; j < b; j++)
            {
                var o = outputs[map[j]];
                if (o.Finish is not null) continue;
                var token = (int)hostTokens[j];
                o.Tokens.Add(token);
                o.LogProbs.Add(hostLogProbs[j]);
                var length = ++state.LengthsMutable[j];
                if (RowEnd.After(o.Tokens, options, _ends, _tokenizer, stopWindow, length >= maxPositions,
                        options.Abandon is null ? null : Abandoned(options.Abandon, map[j], token, o.Tokens)) is { } end)
                    (o.Finish, o.StopString, o.Overshoot) = (end.Reason, end.Stop, end.Overshoot);
                else if (rowMaxNewTokens is not null && o.Tokens.Count >= rowMaxNewTokens[map[j]]) o.Finish = FinishReason.Length;
                feed[j] = keepState || o.Finish is null;
            }
            var fed = feed.Count(f => f);
            if (fed == 0) break;

            Step(state, sample.Tokens.view(b, 1), feed, fed);

            var live = Enumerable.Range(0, b).Where(j => outputs[map[j]].Finish is null).ToArray();
            if (!keepState && live.Length > 0 && 2 * live.Length <= b)
            {
                state.Compact(live.Select(j => (long)j).ToArray());
                state.Cache.Reserve(state.Cache.Length + steps - step - 1);
                map = live.Select(j => map[j]).ToArray();
            }
        }
        state.Cache.SetPositionBound(state.LengthsMutable.Max());
        return outputs.Select(o => o.ToGeneration(_tokenizer)).ToArray();
    }

    /// <summary>
    /// The sampled ids and their log-probabilities on the host: read in place on the CPU (no torch op), else one
    /// device→host copy of both together.
    /// </summary>
    private static (long[] Tokens, float[] LogProbs) ToHost(SampledTokens sample)
    {
        if (sample.Tokens.device_type == DeviceType.CPU)
            return (sample.Tokens.data<long>().ToArray(), sample.LogProbs.data<float>().ToArray());
        var b = (int)sample.Tokens.shape[0];
        var host = stack([sample.Tokens.to(ScalarType.Float64), sample.LogProbs.to(ScalarType.Float64)])
            .cpu().data<double>().ToArray();                                                         // (2, B)
        return (host[..b].Select(t => (long)t).ToArray(), host[b..].Select(l => (float)l).ToArray());
    }

    // Whether `abandon` refuses the row's line that `token` ends (asked only at the end of a line); a closure made only for
    // calls that give one, so that plain decode steps allocate none.
    private Func<bool> Abandoned(Func<int, string, bool> abandon, int row, int token, List<int> tokens) =>
        () => EndsLine(token) && abandon(row, WholeLines(tokens));

    /// <summary>Whether the token's text holds a newline (a table over the vocabulary, made on first use).</summary>
    private bool EndsLine(int token)
    {
        _newline ??= Enumerable.Range(0, _tokenizer.VocabSize).Select(HoldsNewline).ToArray();
        return (uint)token < (uint)_newline.Length && _newline[token];

        bool HoldsNewline(int id)
        {
            try { return _tokenizer.Decode([id]).Contains('\n'); }
            catch (ArgumentOutOfRangeException) { return false; }                         // an id the vocabulary leaves unused
        }
    }

    /// <summary>The decoded tokens up to and including their last newline.</summary>
    private string WholeLines(List<int> tokens)
    {
        var text = _tokenizer.Decode(CollectionsMarshal.AsSpan(tokens));
        return text[..(text.LastIndexOf('\n') + 1)];
    }

    private sealed class RowOutput
    {
        public List<int> Tokens { get; } = [];
        public List<float> LogProbs { get; } = [];
        public FinishReason? Finish { get; set; }
        public string? StopString { get; set; }

        /// <summary>Characters the last token wrote after its stop string (cut from the text, which ends with the stop string).</summary>
        public int Overshoot { get; set; }

        public Generation ToGeneration(ITokenizer tokenizer) =>
            new([.. Tokens], [.. LogProbs], tokenizer.Decode(CollectionsMarshal.AsSpan(Tokens))[..^Overshoot], Finish ?? FinishReason.Length, StopString);
    }
}
