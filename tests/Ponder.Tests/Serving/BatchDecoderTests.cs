using Ponder.Policy;
using Ponder.Serving;
using Ponder.Tests.Policy;
using Generator = Ponder.Policy.Generator;

namespace Ponder.Tests.Serving;

/// <summary>
/// Continuous batching: requests that share a decode batch, joining it at different steps, get what each gets alone;
/// greedy rows match one generator call; progress and cancellation work between steps.
/// </summary>
public sealed class BatchDecoderTests
{
    /// <summary>A random policy (attention matters) over the test characters, without EOS.</summary>
    private sealed class RandomPolicy : IDisposable
    {
        private readonly Transformer _model;

        public RandomPolicy()
        {
            _model = TinyModels.Model(Tokenizer.VocabSize);
            Generator = new Generator(_model, Tokenizer);
        }

        public TestCharTokenizer Tokenizer { get; } = TestCharTokenizer.WithoutEos();

        public Generator Generator { get; }

        public void Dispose() => _model.Dispose();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(64)]
    public void Greedy_pieces_match_one_generator_call_including_stops_across_boundaries(int pieceTokens)
    {
        using var dir = new TempDirectory();
        var loaded = LoadedPolicy.Load(TinyServedModel.Save(dir, endless: true), TorchSharp.torch.CPU);
        var generator = new Generator(loaded.Model, loaded.Tokenizer);
        var prompt = Prompting.Encode(loaded.Tokenizer, ServerFixture.Prompt);
        var options = new SamplingOptions { Temperature = 0, MaxNewTokens = 30, Stop = ["\n#4\n#4\n"] };

        var whole = generator.Generate([prompt, prompt], options);
        var pieces = new LocalPolicy(generator, maxBatch: 1, pieceTokens).Generate(prompt, 2, options);

        for (int row = 0; row < 2; row++)
        {
            Assert.Equal(whole[row].Tokens, pieces[row].Tokens);
            Assert.Equal(whole[row].Text, pieces[row].Text);
            Assert.Equal(FinishReason.Stop, pieces[row].FinishReason);
            Assert.Equal(whole[row].StopString, pieces[row].StopString);
            Assert.Equal(whole[row].LogProbs, pieces[row].LogProbs);
        }
        Assert.Equal("#4", LocalPolicy.ToCompletion(pieces[0]).Text);            // "#4\n#4\n#4\n" less the stop string
    }

    [Fact]
    public void Progress_reports_growing_text_and_cancellation_stops_between_pieces()
    {
        using var dir = new TempDirectory();
        var policy = TinyServedModel.Load(TinyServedModel.Save(dir, maxPositions: 200, endless: true), pieceTokens: 4);
        var prompt = policy.Encode(ServerFixture.Prompt);
        using var stop = new CancellationTokenSource();
        var seen = new List<string>();

        Assert.Throws<OperationCanceledException>(() => policy.Generate(prompt, 1, new SamplingOptions { MaxNewTokens = 150, Seed = 1 }, (row, text) =>
        {
            seen.Add(text);
            if (seen.Count == 3) stop.Cancel();
        }, stop.Token));

        Assert.Equal(3, seen.Count);
        Assert.Equal([4, 8, 12], seen.Select(s => s.Length));                   // one character per token, 4 per piece
        Assert.StartsWith(seen[0], seen[2]);
    }

    [Fact]
    public void Progress_text_grows_a_token_at_a_time_and_is_the_decoded_text_less_an_unfinished_character()
    {
        // Given a random policy over byte-level tokens (its samples split characters over tokens and hold invalid bytes)
        var tokenizer = ByteLevelBpeTokenizer.FromJson(Ponder.Tests.Policy.TinyBpe.Json(null));
        using var model = Ponder.Tests.Policy.TinyModels.Model(tokenizer.VocabSize, seed: 3, initStd: 0.02);
        var generator = new Generator(model, tokenizer);
        var reports = new List<string>();

        // When a row of 40 tokens reports its progress at every token
        var done = new LocalPolicy(generator, maxBatch: 1).Generate([.. tokenizer.Encode("hello")], 1,
            new SamplingOptions { Temperature = 1, MaxNewTokens = 40, Seed = 2, IgnoreEos = true }, (_, text) => reports.Add(text))[0];

        // Then each report is the text of the tokens so far, but for the bytes of a character not yet whole
        Assert.Equal(39, reports.Count);                                        // every token but the last, which finishes the row
        for (int k = 0; k < reports.Count; k++)
        {
            string decoded = tokenizer.Decode(done.Tokens.AsSpan(0, k + 1));
            Assert.StartsWith(reports[k], decoded, StringComparison.Ordinal);
            Assert.All(decoded[reports[k].Length..], c => Assert.Equal('\uFFFD', c));
        }
        Assert.Contains(reports, r => r.Contains('\uFFFD'));                   // invalid bytes are in the text, as Decode writes them
    }

    [Fact]
    public async Task Requests_that_join_the_batch_at_different_steps_get_what_each_gets_alone()
    {
        // Given a random policy (attention matters) and three requests with different prompts and sampling settings
        using var policy = new RandomPolicy();
        var (tokenizer, generator) = (policy.Tokenizer, policy.Generator);
        (int[] Prompt, int N, SamplingOptions Options)[] requests =
        [
            ([tokenizer.Bos, .. tokenizer.Encode("hello world")], 3, new SamplingOptions { Temperature = 1, MaxNewTokens = 20, Seed = 1 }),
            ([tokenizer.Bos, .. tokenizer.Encode("ab")], 2, new SamplingOptions { Temperature = 0.7, TopK = 5, MaxNewTokens = 14, Seed = 2 }),
            ([tokenizer.Bos, .. tokenizer.Encode("12+3=")], 1, new SamplingOptions { Temperature = 0, MaxNewTokens = 9, Stop = ["q"] }),
        ];
        var alone = requests.Select(r => new LocalPolicy(generator).Generate(r.Prompt, r.N, r.Options)).ToArray();

        // When the first starts alone and the others arrive five steps later, into a batch of at most five rows
        using var decoder = new BatchDecoder(generator, maxRows: 5, joinEvery: 3);
        var first = decoder.Add(requests[0].Prompt, requests[0].N, requests[0].Options);
        for (var step = 0; step < 5; step++) decoder.Step();
        var later = requests.Skip(1).Select(r => decoder.Add(r.Prompt, r.N, r.Options)).ToArray();
        while (decoder.Busy) decoder.Step();

        // Then all six rows shared one batch at some step (beyond five, the last row waited for room) and each
        // request's rows are what it gets alone
        Assert.Equal(5, decoder.PeakRows);
        BatchDecoder.Request[] all = [first, .. later];
        for (var r = 0; r < requests.Length; r++)
        {
            var got = await all[r].Done;
            Assert.Equal(alone[r].Select(g => g.Tokens), got.Select(g => g.Tokens));
            Assert.Equal(alone[r].Select(g => g.FinishReason), got.Select(g => g.FinishReason));
            for (var c = 0; c < got.Count; c++) Assert.Equal(alone[r][c].LogProbs, got[c].LogProbs, (x, y) => Math.Abs(x - y) < 1e-3f);
        }
        Assert.Equal(3, alone[0].Select(g => g.Text).Distinct().Count());      // each choice its own stream
    }

    [Fact]
    public async Task A_cancelled_request_leaves_the_batch_and_the_others_finish()
    {
        using var policy = new RandomPolicy();
        var (tokenizer, generator) = (policy.Tokenizer, policy.Generator);
        int[] prompt = [tokenizer.Bos, .. tokenizer.Encode("abc")];
        var options = new SamplingOptions { Temperature = 1, MaxNewTokens = 40, Seed = 3 };
        using var leave = new CancellationTokenSource();
        using var decoder = new BatchDecoder(generator, maxRows: 8);

        var leaving = decoder.Add(prompt, 2, options, cancellation: leave.Token);
        var staying = decoder.Add(prompt, 2, options with { Seed = 4 });
        for (var step = 0; step < 4; step++) decoder.Step();
        Assert.Equal(4, decoder.LiveRows);
        leave.Cancel();
        decoder.Step();

        Assert.True(leaving.Done.IsCanceled);
        Assert.Equal(2, decoder.LiveRows);
        while (decoder.Busy) decoder.Step();
        Assert.Equal(new LocalPolicy(generator).Generate(prompt, 2, options with { Seed = 4 }).Select(g => g.Tokens), (await staying.Done).Select(g => g.Tokens));
    }

    [Fact]
    public async Task A_request_that_fails_on_its_own_fails_alone_and_the_batch_goes_on()
    {
        using var policy = new RandomPolicy();
        var (tokenizer, generator) = (policy.Tokenizer, policy.Generator);
        int[] prompt = [tokenizer.Bos, .. tokenizer.Encode("abc")];
        var options = new SamplingOptions { Temperature = 1, MaxNewTokens = 30, Seed = 6 };
        using var decoder = new BatchDecoder(generator, maxRows: 8, reportEvery: 4);

        // Given two requests in one batch, one of whose progress handlers throws after 8 tokens
        var failing = decoder.Add(prompt, 2, options, progress: (_, sofar) => { if (sofar.Text.Length >= 8) throw new InvalidOperationException("handler broke"); });
        var going = decoder.Add(prompt, 2, options with { Seed = 7 });
        while (decoder.Busy) decoder.Step();

        // Then that request fails with its error, and the other gets what it gets alone
        Assert.Equal("handler broke", (await Assert.ThrowsAsync<InvalidOperationException>(() => failing.Done)).Message);
        Assert.Equal(new LocalPolicy(generator).Generate(prompt, 2, options with { Seed = 7 }).Select(g => g.Tokens), (await going.Done).Select(g => g.Tokens));
    }

    [Fact]
    public async Task A_long_prompt_is_prefilled_a_chunk_a_step_while_the_batch_decodes_and_gets_what_it_gets_whole()
    {
        // Given a random policy, a request decoding, and what a long-prompt request gets with its prompt prefilled whole
        using var policy = new RandomPolicy();
        var (tokenizer, generator) = (policy.Tokenizer, policy.Generator);
        int[] shortPrompt = [tokenizer.Bos, .. tokenizer.Encode("ab")];
        int[] longPrompt = [tokenizer.Bos, .. tokenizer.Encode(string.Concat(Enumerable.Repeat("12+34=46 ", 6)))];    // 55 tokens
        var options = new SamplingOptions { Temperature = 1, MaxNewTokens = 30, Seed = 5 };
        var whole = new LocalPolicy(generator, prefillChunk: 0).Generate(longPrompt, 2, options with { Seed = 6 });
        var running = new LocalPolicy(generator, prefillChunk: 0).Generate(shortPrompt, 1, options);
        int[] behind = [tokenizer.Bos, .. tokenizer.Encode("7*8")];
        var behindAlone = new LocalPolicy(generator, prefillChunk: 0).Generate(behind, 1, options with { Seed = 7 });

        // When the long request arrives after two steps, with chunks of 16 tokens, and a short one right behind it
        using var decoder = new BatchDecoder(generator, maxRows: 8, joinEvery: 1, prefillChunk: 16);
        var first = decoder.Add(shortPrompt, 1, options);
        decoder.Step();
        decoder.Step();
        var joinsBefore = decoder.Joins;
        var arriving = decoder.Add(longPrompt, 2, options with { Seed = 6 });
        var overtaking = decoder.Add(behind, 1, options with { Seed = 7 });

        // Then each of the next three steps prefills one chunk and decodes the batch, the long request still waiting
        // while the short one behind it joins at once
        for (var chunk = 1; chunk <= 3; chunk++)
        {
            var steps = decoder.Steps;
            decoder.Step();
            Assert.Equal(chunk, decoder.PrefillChunks);
            Assert.Equal(steps + 1, decoder.Steps);
            Assert.Equal(2, decoder.LiveRows);
        }

        // And the fourth chunk completes the prompt, whose rows then join; every request gets what it gets alone
        decoder.Step();
        Assert.Equal(4, decoder.PrefillChunks);
        Assert.Equal(4, decoder.LiveRows);
        Assert.Equal(joinsBefore + 2, decoder.Joins);
        while (decoder.Busy) decoder.Step();
        var got = await arriving.Done;
        Assert.Equal(whole.Select(g => g.Tokens), got.Select(g => g.Tokens));
        for (var c = 0; c < 2; c++) Assert.Equal(whole[c].LogProbs, got[c].LogProbs, (x, y) => Math.Abs(x - y) < 1e-4f);
        Assert.Equal(running[0].Tokens, (await first.Done)[0].Tokens);
        Assert.Equal(behindAlone[0].Tokens, (await overtaking.Done)[0].Tokens);
        Assert.Equal(4, decoder.PrefillChunks);
    }

    [Fact]
    public void A_long_prompt_into_an_empty_batch_is_prefilled_in_chunks_too()
    {
        using var policy = new RandomPolicy();
        var (tokenizer, generator) = (policy.Tokenizer, policy.Generator);
        int[] prompt = [tokenizer.Bos, .. tokenizer.Encode(string.Concat(Enumerable.Repeat("7*8=56 ", 5)))];        // 36 tokens
        var options = new SamplingOptions { Temperature = 0, MaxNewTokens = 12 };

        var chunked = new LocalPolicy(generator, prefillChunk: 10).Generate(prompt, 1, options);

        Assert.Equal(new LocalPolicy(generator, prefillChunk: 0).Generate(prompt, 1, options)[0].Tokens, chunked[0].Tokens);
        Assert.Throws<ArgumentOutOfRangeException>(() => new LocalPolicy(generator, prefillChunk: -1));
    }

    [Fact]
    public async Task A_long_prompt_whose_rows_join_over_several_steps_is_prefilled_once()
    {
        // Given a batch of two rows, one decoding a short request, and a long request for two continuations
        using var policy = new RandomPolicy();
        var (tokenizer, generator) = (policy.Tokenizer, policy.Generator);
        int[] shortPrompt = [tokenizer.Bos, .. tokenizer.Encode("ab")];
        int[] longPrompt = [tokenizer.Bos, .. tokenizer.Encode(string.Concat(Enumerable.Repeat("12+34=46 ", 6)))];    // 55 tokens
        var options = new SamplingOptions { Temperature = 1, MaxNewTokens = 12, Seed = 8 };
        var alone = new LocalPolicy(generator, prefillChunk: 0).Generate(longPrompt, 2, options);
        using var decoder = new BatchDecoder(generator, maxRows: 2, joinEvery: 1, prefillChunk: 16);
        var first = decoder.Add(shortPrompt, 1, options with { Seed = 9 });
        decoder.Step();
        generator.ResetCounters();

        // When the long request's prompt is whole while only one row is free, and the other row frees later
        var arriving = decoder.Add(longPrompt, 2, options);
        while (decoder.Busy) decoder.Step();

        // Then its prompt was prefilled once, in four chunks, and both continuations are what they are alone
        Assert.Equal(4, decoder.PrefillChunks);
        Assert.Equal(longPrompt.Length, generator.PrefillTokens);
        Assert.Equal(2, decoder.PeakRows);
        var got = await arriving.Done;
        Assert.Equal(alone.Select(g => g.Tokens), got.Select(g => g.Tokens));
        Assert.Equal(12, (await first.Done)[0].Tokens.Length);
    }

    [Fact]
    public async Task Prompts_of_very_different_lengths_joining_together_each_get_what_they_get_alone()
    {
        // Given four requests whose prompts run from 3 to 61 tokens, joining an empty batch at once (prefilled in groups
        // of similar length and joined)
        using var policy = new RandomPolicy();
        var (tokenizer, generator) = (policy.Tokenizer, policy.Generator);
        string[] texts = ["ab", string.Concat(Enumerable.Repeat("12+34=46 ", 6)) + "7*8=56", "abc", "hello wor"];
        var prompts = texts.Select(t => (int[])[tokenizer.Bos, .. tokenizer.Encode(t)]).ToArray();
        var options = new SamplingOptions { Temperature = 1, MaxNewTokens = 15, Seed = 11 };
        var alone = prompts.Select((p, i) => new LocalPolicy(generator).Generate(p, 2, options with { Seed = 11 + i })).ToArray();

        using var decoder = new BatchDecoder(generator, maxRows: 8);
        var requests = prompts.Select((p, i) => decoder.Add(p, 2, options with { Seed = 11 + i })).ToArray();
        while (decoder.Busy) decoder.Step();

        Assert.Equal(8, decoder.PeakRows);
        Assert.Equal(1, decoder.Joins);
        Assert.Equal(3, decoder.PrefillGroups);                                // 3 and 4 tokens, 10, 61
        for (var i = 0; i < prompts.Length; i++)
        {
            var got = await requests[i].Done;
            Assert.Equal(alone[i].Select(g => g.Tokens), got.Select(g => g.Tokens));
            for (var c = 0; c < 2; c++) Assert.Equal(alone[i][c].LogProbs, got[c].LogProbs, (x, y) => Math.Abs(x - y) < 1e-4f);
        }
    }

    [Fact]
    public async Task Kept_prompts_stay_within_the_byte_budget_dropping_the_least_recently_used()
    {
        // Given a budget that holds the keys of two prompts of 34 tokens but not of three
        using var policy = new RandomPolicy();
        var (tokenizer, generator) = (policy.Tokenizer, policy.Generator);
        int[][] prompts = [.. "abc".Select(c => new[] { tokenizer.Bos }.Concat(tokenizer.Encode(new string(c, 33))).ToArray())];
        var options = new SamplingOptions { Temperature = 0, MaxNewTokens = 2 };
        long one;
        using (var probe = new BatchDecoder(generator, maxRows: 8))
        {
            var first = probe.Add(prompts[0], 1, options);
            while (probe.Busy) probe.Step();
            await first.Done;
            one = probe.PrefixCacheHeld;
        }
        Assert.True(one > 0);
        using var decoder = new BatchDecoder(generator, maxRows: 8, prefixCacheBytes: 2 * one + one / 2);
        using var tiny = new BatchDecoder(generator, maxRows: 8, prefixCacheBytes: one - 1);

        // When the three come one after another, then the first again
        long reusedBefore = 0;
        foreach (var prompt in prompts.Append(prompts[0]))
        {
            reusedBefore = decoder.PrefixTokensReused;
            var request = decoder.Add(prompt, 1, options);
            var small = tiny.Add(prompt, 1, options);
            while (decoder.Busy || tiny.Busy) { if (decoder.Busy) decoder.Step(); if (tiny.Busy) tiny.Step(); }
            await request.Done;
            await small.Done;
            Assert.True(decoder.PrefixCacheHeld <= 2 * one + one / 2);
        }

        // Then two are kept at most, the first was dropped for the third (so it is prefilled again), and a budget below
        // one prompt keeps none
        Assert.Equal(2 * one, decoder.PrefixCacheHeld);
        Assert.Equal(reusedBefore, decoder.PrefixTokensReused);
        Assert.Equal(0, tiny.PrefixCacheHeld);
        Assert.Equal(0, tiny.PrefixTokensReused);

        // And the budget a server is given reaches the decoder it runs (on a generator taking turns at the model)
        using var served = new LocalPolicy(generator, prefixCacheBytes: 12_345).Taking(new ModelTurns()).NewDecoder();
        Assert.Equal(12_345, served.PrefixCacheBytes);
    }

    [Fact]
    public async Task A_prompt_that_starts_with_a_recent_one_reuses_its_keys_and_gets_what_it_gets_alone()
    {
        // Given a random policy and three prompts: two that share their first 31 tokens, and the first again
        using var policy = new RandomPolicy();
        var (tokenizer, generator) = (policy.Tokenizer, policy.Generator);
        var shared = string.Concat(Enumerable.Repeat("12+34=46 ", 3)) + "7*8";                                   // 30 characters
        int[][] prompts = [[tokenizer.Bos, .. tokenizer.Encode(shared + "=56")], [tokenizer.Bos, .. tokenizer.Encode(shared + "+1=57")], [tokenizer.Bos, .. tokenizer.Encode(shared + "=56")]];
        var options = new SamplingOptions { Temperature = 1, MaxNewTokens = 20, Seed = 12 };
        var alone = prompts.Select(p => new LocalPolicy(generator, prefixCache: 0).Generate(p, 2, options)).ToArray();

        // When they come one after another to one decoder
        using var decoder = new BatchDecoder(generator, maxRows: 8);
        var got = new List<IReadOnlyList<Generation>>();
        var reused = new List<long>();
        foreach (var prompt in prompts)
        {
            var request = decoder.Add(prompt, 2, options);
            while (decoder.Busy) decoder.Step();
            got.Add(await request.Done);
            reused.Add(decoder.PrefixTokensReused);
        }

        // Then the second reuses the 31 tokens it shares with the first, the third all of the first's 34, and each gets
        // what it gets alone
        Assert.Equal([0L, 31L, 65L], reused);
        for (var i = 0; i < prompts.Length; i++)
        {
            Assert.Equal(alone[i].Select(g => g.Tokens), got[i].Select(g => g.Tokens));
            for (var c = 0; c < 2; c++) Assert.Equal(alone[i][c].LogProbs, got[i][c].LogProbs, (x, y) => Math.Abs(x - y) < 1e-4f);
        }

        // And in one join, a new prompt, one that reuses a kept start, and one that is a strict start of a kept prompt
        // (it reuses all but its last token) each get what they get alone
        int[][] together = [[tokenizer.Bos, .. tokenizer.Encode("hello world hello")], [tokenizer.Bos, .. tokenizer.Encode(shared + "*2=112")], prompts[1][..33]];
        var aloneTogether = together.Select(p => new LocalPolicy(generator, prefixCache: 0).Generate(p, 1, options)).ToArray();
        var requests = together.Select(p => decoder.Add(p, 1, options)).ToArray();
        while (decoder.Busy) decoder.Step();
        Assert.Equal(65L + 31 + 32, decoder.PrefixTokensReused);
        for (var i = 0; i < together.Length; i++) Assert.Equal(aloneTogether[i][0].Tokens, (await requests[i].Done)[0].Tokens);
    }

    [Fact]
    public async Task Long_prompts_prefilled_in_chunks_are_kept_and_reused_too()
    {
        // Given a decoder with chunks of 16 tokens, a 55-token prompt, one that extends it, and the first again
        using var policy = new RandomPolicy();
        var (tokenizer, generator) = (policy.Tokenizer, policy.Generator);
        int[] first = [tokenizer.Bos, .. tokenizer.Encode(string.Concat(Enumerable.Repeat("12+34=46 ", 6)))];          // 55 tokens
        int[][] prompts = [first, [.. first, .. tokenizer.Encode("7*8")], first];
        var options = new SamplingOptions { Temperature = 1, MaxNewTokens = 10, Seed = 13 };
        var alone = prompts.Select(p => new LocalPolicy(generator, prefillChunk: 0, prefixCache: 0).Generate(p, 1, options)).ToArray();
        using var decoder = new BatchDecoder(generator, maxRows: 4, prefillChunk: 16);

        // When they come one after another
        var seen = new List<(long Chunks, long Reused)>();
        var got = new List<int[]>();
        foreach (var prompt in prompts)
        {
            var request = decoder.Add(prompt, 1, options);
            while (decoder.Busy) decoder.Step();
            got.Add((await request.Done)[0].Tokens);
            seen.Add((decoder.PrefillChunks, decoder.PrefixTokensReused));
        }

        // Then the first takes four chunks, the second reuses its 55 tokens and prefills the other 3 in one chunk, the
        // third reuses it whole; each gets what it gets prefilled whole
        Assert.Equal([(4L, 0L), (5L, 55L), (5L, 110L)], seen);
        for (var i = 0; i < prompts.Length; i++) Assert.Equal(alone[i][0].Tokens, got[i]);
    }
}
