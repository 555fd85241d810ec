using Ponder.Policy;
using Generator = Ponder.Policy.Generator;

namespace Ponder.Serving;

/// <summary>
/// Samples continuations of one prompt in pieces of a few tokens, so that a server can stream text and stop work
/// for a client that went away between pieces (one <see cref="Generator.Continue"/> call is not interruptible).
/// The prompt is prefilled once and its KV cache forked for every row; rows run in groups of at most
/// <c>maxBatch</c>; rows that finish are dropped from the batch after each piece. Stop strings are matched here,
/// across piece boundaries, not by the generator. Deterministic in <see cref="SamplingOptions.Seed"/> (each group
/// and piece reseeds from it) for a fixed piece size and batch limit.
/// </summary>
internal static class PiecewiseDecoder
{
    public static IReadOnlyList<Generation> Run(Generator generator, int[] prompt, int rows, SamplingOptions options,
        int pieceTokens, int maxBatch, Action<int, string>? progress, CancellationToken cancellation)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(pieceTokens);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBatch);
        options.Validate();
        cancellation.ThrowIfCancellationRequested();
        var results = new Generation[rows];
        if (options.MaxNewTokens == 0)
        {
            Array.Fill(results, new Generation([], [], "", FinishReason.Length, null));
            return results;
        }
        using var root = generator.Prefill([prompt]);
        for (int start = 0, group = 0; start < rows; start += maxBatch, group++)
        {
            int size = Math.Min(maxBatch, rows - start);
            long seed = rows <= maxBatch ? options.Seed : Seeds.Mix(options.Seed, group);
            var outputs = RunGroup(generator, root, size, options, seed, pieceTokens,
                progress is null ? null : (row, text) => progress(start + row, text), cancellation);
            outputs.CopyTo(results, start);
        }
        return results;
    }

    private static Generation[] RunGroup(Generator generator, DecodeState root, int size, SamplingOptions options,
        long seed, int pieceTokens, Action<int, string>? progress, CancellationToken cancellation)
    {
        var tokenizer = generator.Tokenizer;
        int maxPositions = generator.Model.Config.MaxPositions;
        int stopWindow = options.Stop.Count == 0 ? 0 : 4 * options.Stop.Max(s => s.Length) + 8;
        var rows = Enumerable.Range(0, size).Select(_ => new RowOutput()).ToArray();
        var live = Enumerable.Range(0, size).ToArray();                 // batch index → row
        var state = root.Fork(new int[size]);
        try
        {
            for (int piece = 0; live.Length > 0; piece++)
            {
                cancellation.ThrowIfCancellationRequested();
                int room = options.MaxNewTokens - rows[live[0]].Tokens.Count; // live rows have all generated as many
                var pieceOptions = options with { MaxNewTokens = Math.Min(pieceTokens, room), Stop = [], Seed = Seeds.Mix(seed, piece) };
                var generated = generator.Continue(state, pieceOptions);
                var still = new List<int>();
                for (int j = 0; j < live.Length; j++)
                {
                    var row = rows[live[j]];
                    row.Take(generated[j], tokenizer, options.Stop, stopWindow);
                    if (row.Finish is null && (row.Tokens.Count >= options.MaxNewTokens || state.Lengths[j] >= maxPositions))
                        row.Finish = FinishReason.Length;
                    if (row.Finish is null) still.Add(j);
                }
                if (progress is not null)
                    foreach (int j in still) progress(live[j], tokenizer.Decode(rows[live[j]].Tokens.ToArray()));
                if (still.Count > 0 && still.Count < live.Length)
                {
                    var next = state.Fork([.. still]);
                    state.Dispose();
                    state = next;
                }
                live = still.Select(j => live[j]).ToArray();
            }
        }
        finally
        {
            state.Dispose();
        }
        return rows.Select(r => r.ToGeneration(tokenizer)).ToArray();
    }

    private sealed class RowOutput
    {
        public List<int> Tokens { get; } = [];
        public List<float> LogProbs { get; } = [];
        public FinishReason? Finish { get; set; }
        public string? StopString { get; private set; }

        /// <summary>Appends a piece token by token, ending the row at EOS or as soon as its text ends with a stop string.</summary>
        public void Take(Generation piece, ITokenizer tokenizer, IReadOnlyList<string> stops, int stopWindow)
        {
            for (int i = 0; i < piece.Tokens.Length && Finish is null; i++)
            {
                Tokens.Add(piece.Tokens[i]);
                LogProbs.Add(piece.LogProbs[i]);
                if (piece.Tokens[i] == tokenizer.Eos) { Finish = FinishReason.Eos; break; }
                if (stopWindow == 0) continue;
                string tail = tokenizer.Decode(Tokens.ToArray().AsSpan(Math.Max(0, Tokens.Count - stopWindow)));
                StopString = stops.FirstOrDefault(s => tail.EndsWith(s, StringComparison.Ordinal));
                if (StopString is not null) Finish = FinishReason.Stop;
            }
        }

        public Generation ToGeneration(ITokenizer tokenizer) =>
            new([.. Tokens], [.. LogProbs], tokenizer.Decode(Tokens.ToArray()), Finish ?? FinishReason.Length, StopString);
    }
}
