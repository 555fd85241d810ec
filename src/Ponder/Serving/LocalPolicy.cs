using Ponder.Policy;
using Generator = Ponder.Policy.Generator;

namespace Ponder.Serving;

/// <summary>
/// A Ponder model as an <see cref="ICompletionPolicy"/>: prompts are encoded as BOS + text and sampled as a server
/// samples them (<see cref="BatchDecoder"/>: each row its own noise stream, cancellable between decode steps, text
/// reported every few tokens). Not thread-safe, like the generator under it.
/// </summary>
public sealed class LocalPolicy : ICompletionPolicy
{
    /// <param name="generator">The model and tokenizer.</param>
    /// <param name="maxBatch">Most rows decoded in one batch; more completions run in successive groups.</param>
    /// <param name="pieceTokens">How often (in tokens) a row's text is reported to a progress callback.</param>
    /// <param name="prefillChunk">Longest prompt prefilled in one go; longer ones a chunk a decode step (0: no limit; <see cref="BatchDecoder"/>).</param>
    /// <param name="prefixCache">Recent prompts whose keys a server keeps for later prompts that start with them (0: none).</param>
    /// <param name="prefixCacheBytes">Most bytes those keys may hold together; the least recently used go first.</param>
    public LocalPolicy(Generator generator, int maxBatch = 64, int pieceTokens = 1, int prefillChunk = DefaultPrefillChunk, int prefixCache = DefaultPrefixCache,
        long prefixCacheBytes = DefaultPrefixCacheBytes)
    {
        ArgumentNullException.ThrowIfNull(generator);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBatch);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(pieceTokens);
        ArgumentOutOfRangeException.ThrowIfNegative(prefillChunk);
        ArgumentOutOfRangeException.ThrowIfNegative(prefixCache);
        ArgumentOutOfRangeException.ThrowIfNegative(prefixCacheBytes);
        (Generator, MaxBatch, PieceTokens, PrefillChunk, PrefixCache, PrefixCacheBytes) = (generator, maxBatch, pieceTokens, prefillChunk, prefixCache, prefixCacheBytes);
    }

    public Generator Generator { get; }

    public int MaxBatch { get; }

    public int PieceTokens { get; }

    /// <summary>Tokens of a long prompt prefilled a decode step by default (vLLM's chunked prefill takes 512 to 8,192 a step).</summary>
    public const int DefaultPrefillChunk = 512;

    /// <summary>Longest prompt prefilled in one go (0: no limit).</summary>
    public int PrefillChunk { get; }

    /// <summary>Prompts a server's decode batch keeps the keys of by default, for later prompts that start with them.</summary>
    public const int DefaultPrefixCache = 8;

    /// <summary>Recent prompts whose keys a server keeps for later prompts that start with them (0: none).</summary>
    public int PrefixCache { get; }

    /// <summary>
    /// Bytes the kept prompts' keys may hold by default (1 GiB): a long prompt of a large model's keys is hundreds of
    /// megabytes (Llama 3.2 1B: 32 KB a token in bfloat16), so the count alone does not bound the memory.
    /// </summary>
    public const long DefaultPrefixCacheBytes = 1L << 30;

    /// <summary>Most bytes the kept prompts' keys hold together.</summary>
    public long PrefixCacheBytes { get; }

    /// <summary>Longest context the model takes (prompt and completion together).</summary>
    public int MaxPositions => Generator.Model.Config.MaxPositions;

    /// <summary>The ids the model continues: BOS, then the prompt's tokens. <see cref="ArgumentException"/> for text the tokenizer cannot encode.</summary>
    public int[] Encode(string prompt) => Prompting.Encode(Generator.Tokenizer, prompt);

    /// <summary>
    /// <paramref name="n"/> continuations of <paramref name="prompt"/> ids; <paramref name="progress"/> hears every
    /// unfinished row's text every <see cref="PieceTokens"/> tokens. Throws <see cref="OperationCanceledException"/>
    /// between decode steps once <paramref name="cancellation"/> fires. A server batching this request with others
    /// returns the same, up to float rounding. <paramref name="topLogProbs"/>: see <see cref="BatchDecoder.Add"/>.
    /// </summary>
    public IReadOnlyList<Generation> Generate(int[] prompt, int n, SamplingOptions options,
        Action<int, string>? progress = null, CancellationToken cancellation = default, int topLogProbs = 0)
    {
        cancellation.ThrowIfCancellationRequested();
        using var decoder = NewDecoder(keepPrefixes: false);                        // one request: nothing to reuse
        var request = decoder.Add(prompt, n, options, progress is null ? null : (row, sofar) => progress(row, sofar.Text), cancellation, topLogProbs: topLogProbs);
        while (!request.Done.IsCompleted) decoder.Step();
        if (request.Done.IsCanceled) cancellation.ThrowIfCancellationRequested();
        return request.Done.GetAwaiter().GetResult();
    }

    /// <summary>
    /// A continuous-batching decoder over this policy's generator, with its batch limit, report interval, prefill chunk
    /// and (unless told to keep none) prefix cache.
    /// </summary>
    internal BatchDecoder NewDecoder(bool keepPrefixes = true) =>
        new(Generator, MaxBatch, PieceTokens, prefillChunk: PrefillChunk, prefixCache: keepPrefixes ? PrefixCache : 0, prefixCacheBytes: PrefixCacheBytes);

    /// <summary>This policy on a generator of its own over the same model, taking <paramref name="turns"/> at it.</summary>
    internal LocalPolicy Taking(ModelTurns turns) => new(Generator.Taking(turns), MaxBatch, PieceTokens, PrefillChunk, PrefixCache, PrefixCacheBytes);

    public Task<CompletionBatch> CompleteAsync(string prompt, int n, SamplingOptions options, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        var ids = Encode(prompt);
        var generations = Generate(ids, n, options, cancellation: cancellation);
        var choices = generations.Select(g => ToCompletion(g)).ToArray();
        return Task.FromResult(new CompletionBatch(choices, ids.Length, generations.Sum(g => g.Tokens.Length)));
    }

    /// <summary>
    /// The prompt's tokens with their log-probabilities under the plain model distribution (the first, which nothing
    /// precedes, has none) and the <paramref name="top"/> most likely tokens at each position: what a completions request
    /// with <c>echo</c> and <c>logprobs</c> returns for its prompt. One forward pass of the trunk, the head in chunks of
    /// positions (a large vocabulary's logits are not all held at once), cancellable between chunks; run it where the
    /// model is free (the server's worker).
    /// </summary>
    public IReadOnlyList<ServedToken> ScorePrompt(int[] ids, int top, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentOutOfRangeException.ThrowIfNegative(top);
        var (model, tokenizer) = (Generator.Model, Generator.Tokenizer);
        if (ids.Length == 0 || ids.Length > model.Config.MaxPositions)
            throw new ArgumentException($"A prompt of {ids.Length} tokens cannot be scored (1..{model.Config.MaxPositions}).", nameof(ids));
        var k = Math.Min(top, model.Config.VocabSize);
        var own = new float[Math.Max(ids.Length - 1, 0)];
        var (alternatives, alternativeValues) = (new long[own.Length * k], new float[own.Length * k]);
        if (ids.Length > 1)
        {
            using var turn = ModelTurns.TakeOrNone(Generator.Turns);
            using var inference = TorchSharp.torch.inference_mode();
            using var scope = TorchSharp.torch.NewDisposeScope();
            var device = model.Device;
            var hidden = model.Hidden(TorchSharp.torch.tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Length], device: device))[0]; // (T, C)
            const int Chunk = 256;
            for (var start = 0; start < own.Length; start += Chunk)
            {
                cancellation.ThrowIfCancellationRequested();
                using var chunk = TorchSharp.torch.NewDisposeScope();
                var length = Math.Min(Chunk, own.Length - start);
                var logProbs = model.Logits(hidden.narrow(0, start, length)).to(TorchSharp.torch.ScalarType.Float32).log_softmax(-1); // (L, V)
                var next = TorchSharp.torch.tensor(ids.Skip(start + 1).Take(length).Select(i => (long)i).ToArray(), device: device).unsqueeze(1);
                logProbs.gather(1, next).squeeze(1).cpu().data<float>().CopyTo(own, start);
                if (k == 0) continue;
                var (values, indices) = logProbs.topk(k, 1);                                                                          // (L, k)
                values.cpu().data<float>().CopyTo(alternativeValues, start * k);
                indices.cpu().data<long>().CopyTo(alternatives, start * k);
            }
        }
        var starts = Starts(tokenizer, ids);
        return ids.Select((id, i) => Served(tokenizer, id, starts[i], i == 0 ? null : own[i - 1],
            Enumerable.Range((i - 1) * k, i == 0 ? 0 : k).Select(a => new TokenLogProb((int)alternatives[a], alternativeValues[a])))).ToList();
    }

    // A token as a response lists it: its text, bytes, offset, log-probability and alternatives (ids the tokenizer does
    // not know, in a vocabulary padded past it, left out of these).
    private static ServedToken Served(ITokenizer tokenizer, int id, int offset, float? logProb, IEnumerable<TokenLogProb> alternatives) =>
        new(tokenizer.Decode([id]), tokenizer.Bytes(id) ?? [], offset, logProb,
            alternatives.Select(a => (Id: a.Token, Bytes: tokenizer.Bytes(a.Token), a.LogProb)).Where(a => a.Bytes is not null)
                .Select(a => (tokenizer.Decode([a.Id]), a.Bytes!, a.LogProb)).ToList());

    /// <summary>
    /// For each id, the length (UTF-16) of the whole characters the ids before it decode to — a character split over
    /// byte-level tokens counts once it is complete — and after the last one the whole length: the ids' offsets in their
    /// text, in one pass.
    /// </summary>
    private static int[] Starts(ITokenizer tokenizer, ReadOnlySpan<int> ids)
    {
        var text = new TokenText();
        foreach (var id in ids) text.Add(tokenizer, id);
        return text.Starts;
    }

    /// <summary>
    /// A generation as an endpoint returns it: the stop string cut from the text (kept with <paramref name="includeStop"/>),
    /// EOS reported as stop; with <paramref name="logProbsOf"/> (the tokenizer), the returned text's tokens with their
    /// log-probabilities.
    /// </summary>
    public static Completion ToCompletion(Generation generation, ITokenizer? logProbsOf = null, bool includeStop = false)
    {
        ArgumentNullException.ThrowIfNull(generation);
        string text = !includeStop && generation is { FinishReason: FinishReason.Stop, StopString: { } stop } && generation.Text.EndsWith(stop, StringComparison.Ordinal)
            ? generation.Text[..^stop.Length]
            : generation.Text;
        var finish = generation.FinishReason == FinishReason.Length ? CompletionFinish.Length : CompletionFinish.Stop;
        if (logProbsOf is null) return new Completion(text, finish, generation.Tokens.Length);
        // The generated tokens that make up the returned text (not those of a cut stop string, not EOS): those that
        // start inside it, so a character split over byte-level tokens keeps all of them.
        var ids = generation.Tokens;
        var starts = Starts(logProbsOf, ids);
        var count = 0;                                                      // an end token has no text: it starts at the text's end
        while (count < ids.Length && starts[count] < text.Length) count++;
        return new Completion(text, finish, ids.Length) { LogProbs = Served(logProbsOf, ids, generation.LogProbs, generation.TopLogProbs, starts, 0, count) };
    }

    /// <summary>
    /// For streaming: the tokens of a row's generation so far from <paramref name="from"/> on whose text lies wholly
    /// within its first <paramref name="limit"/> characters, with their log-probabilities, and where their text ends
    /// (the offset of the first token left out, or the whole text's length). The bytes of a character split over
    /// tokens go together, in the delta where the character is whole.
    /// </summary>
    internal static (List<ServedToken> Tokens, int End) WholeTokens(ITokenizer tokenizer, RowProgress sofar, int from, int limit)
    {
        ArgumentNullException.ThrowIfNull(sofar);
        var starts = sofar.Starts ?? Starts(tokenizer, sofar.Tokens);
        var end = from;                                                     // (a row still running has no end token but ignore_eos's)
        while (end < sofar.Tokens.Length && starts[end + 1] <= limit) end++;
        while (end > from && starts[end] == starts[end - 1]) end--;     // the start of a split character waits for its end
        return (Served(tokenizer, sofar.Tokens, sofar.LogProbs, sofar.Top, starts, from, end), starts[end]);
    }

    // Tokens [from, end) of a generation as a response lists them.
    private static List<ServedToken> Served(ITokenizer tokenizer, int[] ids, float[] logProbs, IReadOnlyList<TokenLogProb[]>? top, int[] starts, int from, int end)
    {
        var tokens = new List<ServedToken>(end - from);
        for (var i = from; i < end; i++) tokens.Add(Served(tokenizer, ids[i], starts[i], logProbs[i], top?[i] ?? []));
        return tokens;
    }
}
