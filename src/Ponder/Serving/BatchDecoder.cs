using Ponder.Policy;
using Generator = Ponder.Policy.Generator;

namespace Ponder.Serving;

/// <summary>
/// Continuous batching, as vLLM's and llama.cpp's servers do it: the rows of every request in progress share one decode
/// batch. A request that arrives joins the batch between decode steps (its prompt prefilled, its KV cache joined to
/// the batch's, <see cref="DecodeState.Join"/>), each row leaves it as soon as it ends, and a step samples every row
/// with its own request's settings. Each row draws its noise from its own stream (the request's seed and the row's
/// choice index), so what a request generates does not depend on which requests share its batch, up to float
/// rounding. Stop strings are matched here, across the whole generated text. A prompt longer than
/// <see cref="PrefillChunk"/> is prefilled a chunk a step (chunked prefill, as vLLM's): the batch goes on decoding
/// between its chunks instead of waiting for the whole prompt. The keys of the last few prompts are kept (prefix
/// caching, as vLLM's): a prompt that starts with one of them (a shared system prompt, earlier turns of a chat, few-shot
/// examples) prefills only the rest. Not thread-safe: one thread calls <see cref="Step"/>, as one thread uses the
/// generator under it.
/// </summary>
internal sealed class BatchDecoder : IDisposable
{
    private readonly Generator _generator;
    private readonly Queue<Request> _pending = new();
    private readonly List<Row> _rows = [];                    // batch index → row (finished rows stay until compaction)
    private DecodeState? _state;
    private int _stepsSinceRepack, _stepsSinceJoin;
    private Request? _chunked;                                 // the waiting request whose long prompt is being prefilled
    private DecodeState? _chunkedState;                        // its prompt so far
    private int _chunkedDone;                                  // its tokens prefilled so far
    private readonly List<(int[] Prompt, DecodeState State)> _prefixes = [];  // recent prompts' keys, one unpadded row each, most recent last

    /// <param name="generator">The model and tokenizer.</param>
    /// <param name="maxRows">Most rows decoded in one batch; the rows of more requests wait for room.</param>
    /// <param name="reportEvery">A row's text is reported to its request's progress every this many tokens.</param>
    /// <param name="joinEvery">
    /// While rows are being decoded, waiting rows join at most once every this many steps, so that a join's prefill
    /// serves several of them: into the rows of ended ones, in place, or, to grow the batch, by rebuilding it (its KV
    /// cache copied; the batch is also rebuilt to leave out columns no live row holds). Into an empty batch they join
    /// at once.
    /// </param>
    /// <param name="prefillChunk">
    /// Longest prompt prefilled in one go; a longer one is prefilled this many tokens a step while the batch decodes,
    /// and joins when it is whole (0: every prompt in one go).
    /// </param>
    /// <param name="prefixCache">Prompts whose keys are kept for later prompts that start with them (0: none).</param>
    /// <param name="prefixCacheBytes">Most bytes the kept keys hold together; the least recently used go first, and a prompt whose keys alone exceed it is not kept.</param>
    public BatchDecoder(Generator generator, int maxRows, int reportEvery = 16, int joinEvery = 4, int prefillChunk = LocalPolicy.DefaultPrefillChunk,
        int prefixCache = LocalPolicy.DefaultPrefixCache, long prefixCacheBytes = LocalPolicy.DefaultPrefixCacheBytes)
    {
        ArgumentNullException.ThrowIfNull(generator);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxRows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(reportEvery);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(joinEvery);
        ArgumentOutOfRangeException.ThrowIfNegative(prefillChunk);
        ArgumentOutOfRangeException.ThrowIfNegative(prefixCache);
        ArgumentOutOfRangeException.ThrowIfNegative(prefixCacheBytes);
        (_generator, MaxRows, ReportEvery, JoinEvery, PrefillChunk, PrefixCache, PrefixCacheBytes) = (generator, maxRows, reportEvery, joinEvery, prefillChunk, prefixCache, prefixCacheBytes);
    }

    /// <summary>Prompts whose keys are kept for later prompts that start with them (0: none).</summary>
    public int PrefixCache { get; }

    /// <summary>Most bytes the kept prompts' keys hold together.</summary>
    public long PrefixCacheBytes { get; }

    /// <summary>Bytes the kept prompts' keys hold now.</summary>
    public long PrefixCacheHeld => _prefixes.Sum(p => p.State.Cache.Bytes);

    /// <summary>Shortest prefix worth reusing, in tokens.</summary>
    public const int MinPrefix = 16;

    /// <summary>Prompt tokens whose keys came from the prefix cache instead of a prefill, so far (tests, benchmarks).</summary>
    public long PrefixTokensReused { get; private set; }

    /// <summary>Longest prompt prefilled in one go (0: no limit); see the constructor.</summary>
    public int PrefillChunk { get; }

    /// <summary>
    /// Whether prompts of very different lengths joining together are prefilled in groups of similar length (the
    /// default) rather than all left-padded to the longest; the benchmark's <c>--serve-prefill --compare groups</c>
    /// compares the two.
    /// </summary>
    internal static bool GroupsByLength = true;

    /// <summary>Groups of similar length that prompts joining together were prefilled in, when they were split (tests).</summary>
    public long PrefillGroups { get; private set; }

    /// <summary>Chunks of long prompts prefilled so far (tests, benchmarks).</summary>
    public long PrefillChunks { get; private set; }

    public int MaxRows { get; }

    public int ReportEvery { get; }

    public int JoinEvery { get; }

    /// <summary>Columns a rebuilt batch's cache gets room for beyond its own (so that the next steps do not reallocate it).</summary>
    private const int ReserveColumns = 64;

    // Whether a request's prompt is prefilled in chunks.
    private bool Chunked(Request request) => PrefillChunk > 0 && request.Prompt.Length > PrefillChunk;

    // Whether a waiting request's long prompt is not yet whole (it cannot join yet). A request whose whole prompt was
    // prefilled in chunks keeps that state until its last row has joined.
    private bool NotYetWhole(Request request) =>
        ReferenceEquals(request, _chunked) ? _chunkedDone < request.Prompt.Length : Chunked(request) && request.Joined == 0;

    /// <summary>Whether there is work: rows being decoded or waiting to join.</summary>
    public bool Busy => _pending.Count > 0 || _rows.Any(r => r.Finish is null);

    /// <summary>Rows in the batch that are still generating.</summary>
    public int LiveRows => _rows.Count(r => r.Finish is null);

    /// <summary>Largest number of rows decoded together so far (tests, benchmarks).</summary>
    public int PeakRows { get; private set; }

    /// <summary>Decode steps run so far.</summary>
    public long Steps { get; private set; }

    /// <summary>Rows sampled over all decode steps so far (÷ <see cref="Steps"/>: the mean batch).</summary>
    public long RowSteps { get; private set; }

    /// <summary>Joins of waiting rows to the batch so far.</summary>
    public long Joins { get; private set; }

    /// <summary>
    /// <paramref name="n"/> continuations of <paramref name="prompt"/> ids, to be generated over later <see cref="Step"/>
    /// calls: the returned request's <see cref="Request.Done"/> completes with them (or is cancelled once
    /// <paramref name="cancellation"/> fires, checked every step). <paramref name="progress"/> hears each unfinished
    /// row's generation so far every <see cref="ReportEvery"/> tokens; <paramref name="joined"/> is called when its first row joins
    /// the batch. With <paramref name="topLogProbs"/> above 0 each generation also holds that many most likely tokens at
    /// each position (<see cref="Generation.TopLogProbs"/>).
    /// </summary>
    public Request Add(int[] prompt, int n, SamplingOptions options, Action<int, RowProgress>? progress = null, CancellationToken cancellation = default,
        Action? joined = null, int topLogProbs = 0)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(n);
        ArgumentOutOfRangeException.ThrowIfNegative(topLogProbs);
        options.Validate();
        if (options.Abandon is not null) throw new ArgumentException("Batched decoding does not abandon rows; leave Abandon unset.", nameof(options));
        if (prompt.Length == 0) throw new ArgumentException("The prompt is empty; start it with BOS.", nameof(prompt));
        var maxPositions = _generator.Model.Config.MaxPositions;
        if (prompt.Length > maxPositions)
            throw new ArgumentException($"A prompt has {prompt.Length} tokens, more than max_position_embeddings = {maxPositions}.", nameof(prompt));
        var request = new Request(prompt, n, options, progress, cancellation, joined) { TopLogProbs = topLogProbs };
        if (options.MaxNewTokens == 0 || prompt.Length == maxPositions)
        {
            var empty = new Generation([], [], "", FinishReason.Length, null) { TopLogProbs = topLogProbs > 0 ? [] : null };
            request.Complete(Enumerable.Repeat(empty, n).ToArray());
        }
        else _pending.Enqueue(request);
        return request;
    }

    /// <summary>
    /// One round of work: drops the rows of cancelled requests, lets waiting rows join when there is room, samples a
    /// token for every row, ends rows (EOS, a stop string, the token limit, the context) and completes their requests,
    /// and appends the tokens of the rows that go on. A failure fails the requests whose rows were in the batch.
    /// </summary>
    public void Step()
    {
        DropCancelled();
        var joining = new List<Row>();
        try
        {
            PrefillChunkOfHead();
            if (_pending.Count > 0 && LiveRows < MaxRows) Admit(joining);
            if (_state is null) return;
            (_stepsSinceRepack, _stepsSinceJoin) = (_stepsSinceRepack + 1, _stepsSinceJoin + 1);
            Decode();
            if (_state is not null && _stepsSinceRepack % JoinEvery == 0) TrimColumns();
        }
        catch (Exception e)
        {
            foreach (var request in _rows.Concat(joining).Select(r => r.Request).Distinct()) request.Fail(e);
            Reset();
            DropPrefixes();                                      // a step that failed (out of memory, most likely) frees what the kept prefixes hold
        }
    }

    /// <summary>Cancels every request, running or waiting (a server that stops).</summary>
    public void CancelAll(CancellationToken token)
    {
        foreach (var request in _rows.Select(r => r.Request).Concat(_pending).Distinct()) request.Cancel(token);
        _pending.Clear();
        DropChunked();
        DropPrefixes();
        Reset();
    }

    // The next chunk of the first waiting long prompt not yet whole: one model call of at most PrefillChunk tokens,
    // before the step's decode. A failure fails that request alone.
    private void PrefillChunkOfHead()
    {
        if (_chunked is not null && _chunkedDone == _chunked.Prompt.Length) return;       // whole, waiting for its rows to join
        var head = _pending.FirstOrDefault(NotYetWhole);
        if (head is null) return;
        if (!ReferenceEquals(head, _chunked))
        {
            DropChunked();
            _chunked = head;
        }
        try
        {
            // A start kept from an earlier prompt is taken first (the whole prompt, if it was kept whole).
            if (_chunkedState is null && Reusable(head.Prompt) is var (kept, tokens))
            {
                (_chunkedState, _chunkedDone) = (FromKept(kept, tokens, head.Prompt.Length, ReserveColumns), tokens);
                if (_chunkedDone == head.Prompt.Length) return;
            }
            var piece = head.Prompt.AsSpan(_chunkedDone, Math.Min(PrefillChunk, head.Prompt.Length - _chunkedDone)).ToArray();
            // The first chunk's cache has room for the whole prompt and the batch's reserve: no reallocation per chunk.
            if (_chunkedState is null) _chunkedState = _generator.Prefill([piece], head.Prompt.Length - piece.Length + ReserveColumns);
            else _generator.Append(_chunkedState, [piece]);
            _chunkedDone += piece.Length;
            PrefillChunks++;
            if (_chunkedDone == head.Prompt.Length) KeepAll([head.Prompt], _chunkedState, [0]);
        }
        catch (Exception e)
        {
            head.Fail(e);
            KeepWaiting(r => !ReferenceEquals(r, head));
            DropChunked();
        }
    }

    private void DropChunked()
    {
        _chunkedState?.Dispose();
        (_chunked, _chunkedState, _chunkedDone) = (null, null, 0);
    }

    private void DropCancelled()
    {
        foreach (var row in _rows.Where(r => r.Finish is null && r.Request.Cancellation.IsCancellationRequested)) row.Finish = FinishReason.Abandoned;
        foreach (var request in _rows.Select(r => r.Request).Concat(_pending).Distinct().Where(r => r.Cancellation.IsCancellationRequested).ToArray())
            request.Cancel(request.Cancellation);
        if (_chunked is { Done.IsCompleted: true }) DropChunked();
        if (_pending.Any(r => r.Done.IsCompleted)) KeepWaiting(r => !r.Done.IsCompleted);
        if (_state is not null && _rows.All(r => r.Finish is not null)) Reset();
    }

    // Waiting rows join, first come, first served (a request's rows may join over several joins), at most every
    // JoinEvery steps while rows are being decoded: into the rows of ended ones, in place; otherwise, to grow the batch,
    // by rebuilding it.
    private void Admit(List<Row> joining)
    {
        if (LiveRows > 0 && _stepsSinceJoin < JoinEvery) return;
        var ended = Indices(live: false);
        if (ended.Length > 0 && LiveRows > 0)
        {
            var columns = _state!.Cache.Length;
            Take(joining, ended.Length, request => request.Prompt.Length <= columns);
            if (joining.Count > 0)
            {
                if (PrefillOrFail(joining) is not var (fresh, promptOf, owned)) return;
                try
                {
                    for (var k = 0; k < joining.Count; k++)
                    {
                        _state!.Place(ended[k], fresh, promptOf[k]);
                        _rows[ended[k]] = joining[k];
                    }
                }
                finally
                {
                    if (owned) fresh.Dispose();
                }
                (Joins, _stepsSinceJoin) = (Joins + 1, 0);
                return;
            }
        }
        if (LiveRows == 0 || _stepsSinceRepack >= JoinEvery)
        {
            Take(joining, MaxRows - LiveRows, _ => true);
            if (joining.Count == 0) return;                          // a long prompt still being prefilled
            _stepsSinceJoin = 0;
            if (PrefillOrFail(joining) is not var (fresh, promptOf, owned)) return;
            try
            {
                Repack(fresh, promptOf, joining);
            }
            finally
            {
                if (owned) fresh.Dispose();
            }
            Joins++;
            PeakRows = Math.Max(PeakRows, _rows.Count);
        }
    }

    // Moves up to `room` waiting rows, in order, into `joining`, stopping at a request that `fits` refuses. A long
    // prompt not yet whole is passed over (the requests behind it do not wait for its chunks); one that is whole joins
    // alone, first.
    private void Take(List<Row> joining, int room, Func<Request, bool> fits)
    {
        foreach (var request in _pending)
        {
            if (room == 0) break;
            if (NotYetWhole(request)) continue;
            var chunked = ReferenceEquals(request, _chunked);
            if (!fits(request) || joining.Count > 0 && (chunked || ReferenceEquals(joining[0].Request, _chunked))) break;
            var take = Math.Min(room, request.N - request.Joined);
            for (var i = 0; i < take; i++) joining.Add(new Row(request, request.Joined + i));
            if (request.Joined == 0) request.OnJoin?.Invoke();
            request.Joined += take;
            room -= take;
        }
        if (joining.Count > 0) KeepWaiting(r => r.Joined < r.N);
    }

    // Keeps in the queue, in order, only the waiting requests that `keep` accepts.
    private void KeepWaiting(Func<Request, bool> keep)
    {
        var waiting = _pending.Where(keep).ToArray();
        _pending.Clear();
        foreach (var request in waiting) _pending.Enqueue(request);
    }

    // Prefill(joining), or null when it fails: the joining requests fail with its error, the batch goes on.
    private (DecodeState Fresh, int[] PromptOf, bool Owned)? PrefillOrFail(List<Row> joining)
    {
        try
        {
            return Prefill(joining);
        }
        catch (Exception e)
        {
            foreach (var request in joining.Select(r => r.Request).Distinct()) request.Fail(e);
            joining.Clear();
            DropPrefixes();                                      // as a failed step does: the next prefill gets the memory they hold
            return null;
        }
    }

    // The joining rows' prompts prefilled (each request's once), each row's index among them, and whether the state is
    // the caller's to dispose. A request whose prompt was prefilled in chunks brings that state, kept here until its last
    // row has joined (Place and Join leave their source unchanged).
    private (DecodeState Fresh, int[] PromptOf, bool Owned) Prefill(List<Row> joining)
    {
        var requests = joining.Select(r => r.Request).Distinct().ToList();
        if (requests.Count == 1 && ReferenceEquals(requests[0], _chunked) && _chunkedState is not null && _chunkedDone == requests[0].Prompt.Length)
        {
            var state = _chunkedState;
            if (requests[0].Joined < requests[0].N) return (state, new int[joining.Count], false);
            (_chunked, _chunkedState, _chunkedDone) = (null, null, 0);
            return (state, new int[joining.Count], true);
        }
        var (fresh, order) = PrefillCached(requests.Select(r => r.Prompt).ToList());
        return (fresh, joining.Select(r => order[requests.IndexOf(r.Request)]).ToArray(), true);
    }

    // The prompts' states, each prompt's row: a prompt that starts with a kept one (at least MinPrefix tokens) continues
    // a copy of its keys, the others are prefilled (PrefillByLength); then every prompt's keys are kept, the least
    // recently used dropped beyond PrefixCache prompts or PrefixCacheBytes.
    private (DecodeState Fresh, int[] RowOf) PrefillCached(List<int[]> prompts)
    {
        var reuse = prompts.Select(Reusable).ToArray();
        var missing = Enumerable.Range(0, prompts.Count).Where(i => reuse[i] is null).ToArray();
        var parts = new List<(DecodeState State, int[] Rows)>();
        var rowOf = new int[prompts.Count];
        var next = 0;
        try
        {
            if (missing.Length > 0)
            {
                var (state, rows) = PrefillByLength(missing.Select(i => prompts[i]).ToList());
                parts.Add((state, Enumerable.Range(0, missing.Length).ToArray()));
                for (var k = 0; k < missing.Length; k++) rowOf[missing[k]] = rows[k];
                next = missing.Length;
            }
            for (var i = 0; i < prompts.Count; i++)
            {
                if (reuse[i] is not var (kept, tokens)) continue;
                var state = FromKept(kept, tokens, prompts[i].Length, 0);
                parts.Add((state, [0]));
                if (tokens < prompts[i].Length) _generator.Append(state, [prompts[i][tokens..]]);
                rowOf[i] = next++;
            }
            var fresh = parts.Count == 1 ? parts[0].State : DecodeState.Join(parts);
            if (parts.Count == 1) parts.Clear();
            KeepAll(prompts, fresh, rowOf);
            return (fresh, rowOf);
        }
        finally
        {
            foreach (var (state, _) in parts) state.Dispose();
        }
    }

    // The kept prompt sharing the longest start with `prompt` and how many of its tokens to reuse (at most all but the
    // prompt's last, whose logits a continuation needs, unless the whole prompt is kept), or null when none shares
    // MinPrefix tokens. The entry found becomes the most recently used.
    private (DecodeState Kept, int Tokens)? Reusable(int[] prompt)
    {
        if (PrefixCache == 0 || prompt.Length < MinPrefix) return null;
        var (best, tokens) = (-1, 0);
        for (var e = 0; e < _prefixes.Count; e++)
        {
            var kept = _prefixes[e].Prompt;
            var common = prompt.AsSpan().CommonPrefixLength(kept);
            var usable = common == kept.Length && common == prompt.Length ? common : Math.Min(common, prompt.Length - 1);
            if (usable > tokens) (best, tokens) = (e, usable);
        }
        return best < 0 || tokens < MinPrefix ? null : (Touch(best), tokens);
    }

    // A state holding the first `tokens` of a kept prompt, to continue a prompt of `length` tokens that starts with them:
    // the kept state itself copied when it is that whole prompt (its logits come along), else its start with room for the
    // rest and `room` more (append the rest before sampling).
    private DecodeState FromKept(DecodeState kept, int tokens, int length, int room)
    {
        var state = tokens == length ? kept.Fork(new int[1]) : kept.Head(tokens, length - tokens + room);
        PrefixTokensReused += tokens;
        return state;
    }

    // Keeps the last PrefixCache prompts' keys (rows of `state`); best effort: a failure (out of memory) empties the cache
    // and leaves the prefill as it is.
    private void KeepAll(List<int[]> prompts, DecodeState state, int[] rowOf)
    {
        try
        {
            for (var i = Math.Max(0, prompts.Count - PrefixCache); i < prompts.Count; i++) Keep(prompts[i], state, rowOf[i]);
        }
        catch (Exception)
        {
            DropPrefixes();
        }
    }

    // Makes kept entry `index` the most recently used; its state.
    private DecodeState Touch(int index)
    {
        var entry = _prefixes[index];
        _prefixes.RemoveAt(index);
        _prefixes.Add(entry);
        return entry.State;
    }

    private void DropPrefixes()
    {
        foreach (var (_, kept) in _prefixes) kept.Dispose();
        _prefixes.Clear();
    }

    // Keeps `prompt`'s keys (row `row` of `state`, copied without the padding in front) as the most recently used.
    private void Keep(int[] prompt, DecodeState state, int row)
    {
        if (PrefixCache == 0 || prompt.Length < MinPrefix) return;
        var same = _prefixes.FindIndex(p => p.Prompt.AsSpan().SequenceEqual(prompt));
        if (same >= 0)
        {
            Touch(same);
            return;
        }
        var kept = DecodeState.Join([(state, [row])]);
        if (kept.Cache.Bytes > PrefixCacheBytes)
        {
            kept.Dispose();                                          // alone over the budget: it would evict everything and still exceed it
            return;
        }
        _prefixes.Add(([.. prompt], kept));
        while (_prefixes.Count > PrefixCache || PrefixCacheHeld > PrefixCacheBytes)
        {
            _prefixes[0].State.Dispose();
            _prefixes.RemoveAt(0);
        }
    }

    // The prompts prefilled in groups of similar length, each group left-padded only to its own longest (a long prompt
    // padded together with short ones would cost the short ones its length each), and joined into one state; and each
    // prompt's row in it. One group, one call, where the padding would be at most the tokens themselves.
    private (DecodeState Fresh, int[] RowOf) PrefillByLength(List<int[]> prompts)
    {
        if (!GroupsByLength || prompts.Count * prompts.Max(p => p.Length) <= 2 * prompts.Sum(p => p.Length))
            return (_generator.Prefill(prompts), [.. Enumerable.Range(0, prompts.Count)]);
        var groups = new List<List<int>>();
        foreach (var i in Enumerable.Range(0, prompts.Count).OrderBy(i => prompts[i].Length))
        {
            if (groups.Count == 0 || prompts[i].Length > 2 * prompts[groups[^1][0]].Length) groups.Add([]);
            groups[^1].Add(i);
        }
        var states = new List<DecodeState>();
        try
        {
            foreach (var group in groups) states.Add(_generator.Prefill(group.Select(i => prompts[i]).ToList()));
            var rowOf = new int[prompts.Count];
            var row = 0;
            foreach (var i in groups.SelectMany(g => g)) rowOf[i] = row++;
            return (DecodeState.Join(states.Select((state, k) => (state, Enumerable.Range(0, groups[k].Count).ToArray())).ToList()), rowOf);
        }
        finally
        {
            foreach (var state in states) state.Dispose();
            PrefillGroups += states.Count;
        }
    }

    // Rebuilds the batch from its live rows and, given, the joining rows of `fresh`: ended rows and the columns only
    // they held are left out.
    private void Repack(DecodeState? fresh = null, int[]? promptOf = null, List<Row>? joining = null)
    {
        var live = Indices(live: true);
        var parts = new List<(DecodeState, int[])>();
        if (live.Length > 0) parts.Add((_state!, live));
        if (fresh is not null && joining!.Count > 0) parts.Add((fresh, promptOf!));
        if (parts.Count == 0)
        {
            Reset();
            return;
        }
        var joined = DecodeState.Join(parts);
        joined.Cache.Reserve(joined.Cache.Length + ReserveColumns);
        var kept = live.Select(j => _rows[j]).ToList();
        Reset();
        (_state, _stepsSinceRepack) = (joined, 0);
        _rows.AddRange(kept);
        if (joining is not null) _rows.AddRange(joining);
    }

    // Rebuilds the batch when the columns in front that no live row holds are a quarter of them or more (a row that
    // joined in place starts at the last column; the attention of every row reads every column).
    private void TrimColumns()
    {
        var live = Indices(live: true).Select(j => (long)j).ToArray();
        var (first, length) = (_state!.Cache.FirstHeld(live), _state.Cache.Length);
        if (first >= 16 && 4 * first >= length) Repack();
    }

    private void Decode()
    {
        var state = _state!;
        var tokenizer = _generator.Tokenizer;
        var maxPositions = _generator.Model.Config.MaxPositions;
        Steps++;
        RowSteps += LiveRows;
        var (tokens, logProbs) = Sampler.SampleRows(state.Logits, _rows.Select(r => r.Finish is null ? r.Sampling : null).ToArray());
        var feed = new bool[_rows.Count];
        for (var j = 0; j < _rows.Count; j++)
        {
            var row = _rows[j];
            if (row.Finish is not null) continue;
            try
            {
                row.Top?.Add(Sampler.TopLogProbs(state.Logits, j, row.Request.TopLogProbs));
                row.Take((int)tokens[j], logProbs[j], tokenizer, _generator.Ends, state.Lengths[j] + 1 >= maxPositions);
                if (row.Finish is null && row.Tokens.Count % ReportEvery == 0) row.Request.Progress?.Invoke(row.Choice, row.Snapshot(tokenizer));
            }
            catch (Exception e)
            {
                row.Request.Abandon(e);                  // e.g. an id a padded vocabulary's tokenizer cannot decode: this request only
            }
            feed[j] = row.Finish is null;
        }
        foreach (var request in _rows.Where(r => r.Finish is not null).Select(r => r.Request).Distinct())
            try
            {
                request.TryFinish(tokenizer);
            }
            catch (Exception e)
            {
                request.Abandon(e);
            }
        if (feed.Any(f => f)) _generator.Feed(state, tokens, feed);
        var live = _rows.Count(r => r.Finish is null);
        if (live == 0) Reset();
        else if (2 * live <= _rows.Count && _pending.All(NotYetWhole)) Repack();
    }

    // The batch indices of the rows still generating, or of those that ended.
    private int[] Indices(bool live) => Enumerable.Range(0, _rows.Count).Where(j => _rows[j].Finish is null == live).ToArray();

    private void Reset()
    {
        _state?.Dispose();
        _state = null;
        _rows.Clear();
    }

    public void Dispose()
    {
        DropChunked();
        Reset();
        DropPrefixes();
    }

    /// <summary>A request's rows and where they stand.</summary>
    internal sealed class Request
    {
        private readonly TaskCompletionSource<IReadOnlyList<Generation>> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly Row?[] _rows;

        public Request(int[] prompt, int n, SamplingOptions options, Action<int, RowProgress>? progress, CancellationToken cancellation, Action? joined)
        {
            (Prompt, N, Options, Progress, Cancellation, OnJoin) = (prompt, n, options, progress, cancellation, joined);
            _rows = new Row?[n];
        }

        public int[] Prompt { get; }

        public int N { get; }

        public SamplingOptions Options { get; }

        public Action<int, RowProgress>? Progress { get; }

        public CancellationToken Cancellation { get; }

        /// <summary>Called when the first row joins a batch.</summary>
        public Action? OnJoin { get; }

        /// <summary>Most likely tokens to keep at each position of each row (0: none).</summary>
        public int TopLogProbs { get; init; }

        /// <summary>Rows that have joined a batch so far.</summary>
        public int Joined { get; set; }

        /// <summary>Completes with every row's generation, in choice order.</summary>
        public Task<IReadOnlyList<Generation>> Done => _done.Task;

        public void Register(Row row) => _rows[row.Choice] = row;

        public void TryFinish(ITokenizer tokenizer)
        {
            if (!Done.IsCompleted && Joined == N && _rows.All(r => r is { Finish: not null })) Complete(_rows.Select(r => r!.ToGeneration(tokenizer)).ToArray());
        }

        /// <summary>Fails the request and ends its rows (a failure of its own: the rest of the batch goes on).</summary>
        public void Abandon(Exception error)
        {
            foreach (var row in _rows)
                if (row is { Finish: null }) row.Finish = FinishReason.Abandoned;
            Fail(error);
        }

        public void Complete(IReadOnlyList<Generation> generations) => _done.TrySetResult(generations);

        public void Cancel(CancellationToken token) => _done.TrySetCanceled(token);

        public void Fail(Exception error) => _done.TrySetException(error);
    }

    /// <summary>One continuation: its request and choice index, its noise stream, and what it has generated.</summary>
    internal sealed class Row
    {
        private readonly int _stopWindow;

        // The text so far, decoded a token at a time, for a request that hears its progress: a report then decodes only its
        // own token (it still copies what it reports).
        private readonly TokenText? _sofar;

        public Row(Request request, int choice)
        {
            (Request, Choice) = (request, choice);
            var o = request.Options;
            var seed = choice == 0 ? o.Seed : Seeds.Mix(o.Seed, choice);
            Sampling = new RowSampling(o.Temperature, o.TopK, o.TopP, SamplingOptions.Greedy(o.Temperature) ? null : new UniformDraws((ulong)seed));
            _stopWindow = StopStrings.Window(o.Stop);
            Top = request.TopLogProbs > 0 ? [] : null;
            if (request.Progress is not null) _sofar = new TokenText();
            request.Register(this);
        }

        public Request Request { get; }

        public int Choice { get; }

        public RowSampling Sampling { get; }

        public List<int> Tokens { get; } = [];

        public List<float> LogProbs { get; } = [];

        /// <summary>The most likely tokens at each position, when the request asks for them.</summary>
        public List<TokenLogProb[]>? Top { get; }

        public FinishReason? Finish { get; set; }

        public string? StopString { get; private set; }

        // Characters the last token wrote after its stop string: cut from the finished text, which ends with the stop.
        private int _overshoot;

        /// <summary>Appends a sampled token and ends the row at an end token (<paramref name="ends"/>), a stop string, its token limit or the model's context.</summary>
        public void Take(int token, float logProb, ITokenizer tokenizer, HashSet<int> ends, bool contextFull)
        {
            Tokens.Add(token);
            LogProbs.Add(logProb);
            _sofar?.Add(tokenizer, token);
            if (RowEnd.After(Tokens, Request.Options, ends, tokenizer, _stopWindow, contextFull) is { } end)
                (Finish, StopString, _overshoot) = (end.Reason, end.Stop, end.Overshoot);
        }

        /// <summary>What the row has generated so far, in arrays of its own.</summary>
        public RowProgress Snapshot(ITokenizer tokenizer)
        {
            int[] tokens = [.. Tokens];
            return new RowProgress(_sofar?.Text ?? tokenizer.Decode(tokens), tokens, [.. LogProbs], Top?.ToArray()) { Starts = _sofar?.Starts };
        }

        public Generation ToGeneration(ITokenizer tokenizer)
        {
            int[] tokens = [.. Tokens];
            return new Generation(tokens, [.. LogProbs], tokenizer.Decode(tokens)[..^_overshoot], Finish ?? FinishReason.Length, StopString)
            {
                TopLogProbs = Top?.ToArray(),
            };
        }
    }
}

/// <summary>
/// A row's generation so far, as a progress callback hears it: its text, tokens, their log-probabilities and, when its
/// request asks for them, the most likely tokens at each position.
/// </summary>
internal sealed record RowProgress(string Text, int[] Tokens, float[] LogProbs, TokenLogProb[][]? Top)
{
    /// <summary>Where each token's text starts in <see cref="Text"/>, and its length last (null: not kept; computed when needed).</summary>
    public int[]? Starts { get; init; }
}
