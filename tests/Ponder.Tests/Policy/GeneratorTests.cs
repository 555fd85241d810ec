using Ponder.Policy;
using TorchSharp;
using static TorchSharp.torch;
using Generator = Ponder.Policy.Generator;

namespace Ponder.Tests.Policy;

public sealed class GeneratorTests
{
    private static readonly SamplingOptions Greedy = new() { Temperature = 0, MaxNewTokens = 20 };

    private static int[] Prompt(string text, TestCharTokenizer tokenizer) => [tokenizer.Bos, .. tokenizer.Encode(text)];

    [Fact]
    public void Batched_greedy_generation_matches_full_forward_for_each_prompt_alone()
    {
        // Given prompts of different lengths in one batch
        var tokenizer = new TestCharTokenizer();
        using var model = TinyModels.Model(tokenizer.VocabSize);
        var generator = new Generator(model, tokenizer);
        int[][] prompts = [Prompt("a", tokenizer), Prompt("hello world", tokenizer), Prompt("12+3", tokenizer)];

        // When generating greedily with the KV cache
        var generations = generator.Generate(prompts, Greedy);

        // Then each row equals greedy decoding by repeated full forward passes, stopping at EOS
        for (var row = 0; row < prompts.Length; row++)
        {
            var expected = TinyModels.GreedyReference(model, prompts[row], Greedy.MaxNewTokens, tokenizer.Eos);
            Assert.Equal(expected, generations[row].Tokens);
            Assert.Equal(expected[^1] == tokenizer.Eos ? FinishReason.Eos : FinishReason.Length, generations[row].FinishReason);
            Assert.Equal(tokenizer.Decode([.. expected]), generations[row].Text);
        }
        Assert.Equal(prompts.Sum(p => p.Length), generator.PrefillTokens);
    }

    [Fact]
    public void The_generator_times_its_prefills_and_decode_loops_apart()
    {
        // Given a generator whose counters were reset
        var tokenizer = new TestCharTokenizer();
        using var model = TinyModels.Model(tokenizer.VocabSize);
        var generator = new Generator(model, tokenizer);
        int[][] prompts = [Prompt("hello", tokenizer), Prompt("12+3", tokenizer)];
        generator.Generate(prompts, Greedy);
        generator.ResetCounters();
        Assert.Equal((TimeSpan.Zero, TimeSpan.Zero), (generator.PrefillTime, generator.DecodeTime));

        // When it prefills alone, then appends, then continues decoding
        using var state = generator.Prefill(prompts);
        var afterPrefill = (generator.PrefillTime, generator.DecodeTime);
        generator.Append(state, [[tokenizer.Encode("x")[0]], []]);
        var afterAppend = generator.PrefillTime;
        generator.Continue(state, Greedy with { MaxNewTokens = 5 });

        // Then the prefill and the append count as prefill time only, the decode loop as decode time only
        Assert.True(afterPrefill.PrefillTime > TimeSpan.Zero && afterPrefill.DecodeTime == TimeSpan.Zero);
        Assert.True(afterAppend > afterPrefill.PrefillTime);
        Assert.Equal(afterAppend, generator.PrefillTime);
        Assert.True(generator.DecodeTime > TimeSpan.Zero);
        Assert.True(generator.DecodeTokens > 0);
    }

    [Fact]
    public void Log_probs_are_model_log_softmax_at_the_generated_positions()
    {
        // Given sampling with temperature and top-k, which change the sampling distribution but not the model's
        var tokenizer = TestCharTokenizer.WithoutEos();
        using var model = TinyModels.Model(tokenizer.VocabSize, initStd: 0.1);
        model.KvCacheType = ScalarType.Float32;   // exact keys and values: this test compares the cached arithmetic
        var generator = new Generator(model, tokenizer);
        int[][] prompts = [Prompt("ab", tokenizer), Prompt("the cat", tokenizer)];

        var generations = generator.Generate(prompts, new SamplingOptions { Temperature = 0.8, TopK = 10, MaxNewTokens = 12, Seed = 3 });

        // Then each reported log-prob is log_softmax of the full forward pass's logits at that position
        using var scope = NewDisposeScope();
        for (var row = 0; row < prompts.Length; row++)
        {
            var g = generations[row];
            Assert.Equal(12, g.Tokens.Length);
            var logProbs = TinyModels.FullLogits(model, prompts[row].Concat(g.Tokens)).log_softmax(-1); // (T, V)
            for (var i = 0; i < g.Tokens.Length; i++)
                Assert.Equal(logProbs[prompts[row].Length - 1 + i, g.Tokens[i]].item<float>(), g.LogProbs[i], 1e-4f); // not "4 places": rounding fails 1e-7 apart at a boundary
        }
    }

    [Fact]
    public void Continuations_forked_from_a_prefix_equal_fresh_generations_and_prefill_it_once()
    {
        var tokenizer = TestCharTokenizer.WithoutEos();
        using var model = TinyModels.Model(tokenizer.VocabSize);
        var generator = new Generator(model, tokenizer);
        var prefix = Prompt("question 7", tokenizer);

        var forked = generator.GenerateFromPrefix(prefix, 4, Greedy);
        var (forkPrefill, forkDecode) = (generator.PrefillTokens, generator.DecodeTokens);
        generator.ResetCounters();
        var fresh = Enumerable.Range(0, 4).Select(_ => generator.Generate([prefix], Greedy)[0]).ToList();

        Assert.All(forked, g => Assert.Equal(fresh[0].Tokens, g.Tokens));
        Assert.All(fresh, g => Assert.Equal(fresh[0].Tokens, g.Tokens));
        Assert.Equal(prefix.Length, forkPrefill);
        Assert.Equal(4 * prefix.Length, generator.PrefillTokens);
        // The last token of each row is sampled but never needs to be run through the model
        Assert.Equal(4 * (Greedy.MaxNewTokens - 1), forkDecode);
    }

    [Fact]
    public void Repeated_prompts_are_prefilled_once_and_sample_as_rows_prefilled_apart()
    {
        // Given two prompts given 3 and 2 times, interleaved
        var tokenizer = TestCharTokenizer.WithoutEos();
        using var model = TinyModels.Model(tokenizer.VocabSize, initStd: 0.05);
        var generator = new Generator(model, tokenizer);
        var (a, b) = (Prompt("seven", tokenizer), Prompt("a longer one", tokenizer));
        int[][] prompts = [a, b, [.. a], a, [.. b]];
        var options = new SamplingOptions { MaxNewTokens = 12, Seed = 5 };

        // When sampling them in one call, and from a state prefilled row by row
        var generated = generator.Generate(prompts, options);
        var prefilledOnce = generator.PrefillTokens;
        using var apart = generator.Prefill(prompts);
        var continued = generator.Continue(apart, options);

        // Then each distinct prompt is prefilled once, every row samples the same tokens, and the copies differ
        Assert.Equal(a.Length + b.Length, prefilledOnce);
        Assert.Equal(continued.Select(g => g.Text), generated.Select(g => g.Text));
        Assert.True(generated[0].Text != generated[2].Text || generated[2].Text != generated[3].Text);
    }

    [Fact]
    public void Rows_continued_with_their_own_limits_stop_there_and_sample_what_they_sample_unlimited()
    {
        // Given three rows of one state, and a copy of it
        var tokenizer = TestCharTokenizer.WithoutEos();
        using var model = TinyModels.Model(tokenizer.VocabSize, initStd: 0.05);
        var generator = new Generator(model, tokenizer);
        int[][] prompts = [Prompt("seven", tokenizer), Prompt("a longer one", tokenizer), Prompt("x", tokenizer)];
        var options = new SamplingOptions { MaxNewTokens = 8, Seed = 3 };
        using var limited = generator.Prefill(prompts);
        using var unlimited = generator.Prefill(prompts);

        // When one copy continues with limits of 3, 0 and 8 tokens a row, the other with none
        var capped = generator.Continue(limited, options, rowMaxNewTokens: [3, 0, 8]);
        var whole = generator.Continue(unlimited, options);

        // Then each capped row ends at its limit (Length) with the first tokens the unlimited row drew, and the state holds them
        Assert.Equal([3, 0, 8], capped.Select(g => g.Tokens.Length));
        Assert.All(capped, g => Assert.Equal(FinishReason.Length, g.FinishReason));
        for (int r = 0; r < 3; r++) Assert.Equal(whole[r].Tokens.Take(capped[r].Tokens.Length), capped[r].Tokens);
        Assert.Equal(prompts.Select((p, r) => (long)p.Length + capped[r].Tokens.Length), limited.Lengths);
        Assert.Throws<ArgumentException>(() => generator.Continue(limited, options, rowMaxNewTokens: [1, 2]));
    }

    [Fact]
    public void Sampled_continuations_of_one_prefix_are_diverse()
    {
        var tokenizer = TestCharTokenizer.WithoutEos();
        using var model = TinyModels.Model(tokenizer.VocabSize, initStd: 0.05);
        var generator = new Generator(model, tokenizer);

        var generations = generator.GenerateFromPrefix(Prompt("x", tokenizer), 8, new SamplingOptions { MaxNewTokens = 10, Seed = 1 });

        Assert.True(generations.Select(g => g.Text).Distinct().Count() > 4);
    }

    [Fact]
    public void Same_seed_reproduces_and_different_seeds_differ()
    {
        var tokenizer = TestCharTokenizer.WithoutEos();
        using var model = TinyModels.Model(tokenizer.VocabSize, initStd: 0.05);
        var generator = new Generator(model, tokenizer);
        int[][] prompts = [Prompt("a", tokenizer), Prompt("bcd", tokenizer)];
        var options = new SamplingOptions { MaxNewTokens = 16, Seed = 42 };

        var first = generator.Generate(prompts, options);
        var again = generator.Generate(prompts, options);
        var other = generator.Generate(prompts, options with { Seed = 43 });

        Assert.Equal(first.Select(g => g.Text), again.Select(g => g.Text));
        Assert.NotEqual(first.Select(g => g.Text), other.Select(g => g.Text));
    }

    [Fact]
    public void Stop_strings_end_each_row_at_their_first_match_and_are_included()
    {
        // Given each row's full greedy text and a two-character stop string taken from the middle of row 0
        var tokenizer = TestCharTokenizer.WithoutEos();
        using var model = TinyModels.Model(tokenizer.VocabSize);
        var generator = new Generator(model, tokenizer);
        int[][] prompts = [Prompt("go", tokenizer), Prompt("a longer prompt", tokenizer), Prompt("7", tokenizer)];
        var full = generator.Generate(prompts, Greedy with { MaxNewTokens = 40 });
        var stop = full[0].Text.Substring(6, 2);

        // When generating again with that stop string (and one that never occurs)
        var stopped = generator.Generate(prompts, Greedy with { MaxNewTokens = 40, Stop = ["never!", stop] });

        // Then every row is its full text cut right after the first occurrence, or unchanged if there is none
        for (var row = 0; row < prompts.Length; row++)
        {
            var at = full[row].Text.IndexOf(stop, StringComparison.Ordinal);
            if (at < 0)
            {
                Assert.Equal(full[row].Text, stopped[row].Text);
                Assert.Equal(FinishReason.Length, stopped[row].FinishReason);
                continue;
            }
            Assert.Equal(full[row].Text[..(at + stop.Length)], stopped[row].Text);
            Assert.EndsWith(stop, stopped[row].Text, StringComparison.Ordinal);
            Assert.Equal(FinishReason.Stop, stopped[row].FinishReason);
            Assert.Equal(stop, stopped[row].StopString);
            Assert.Equal(full[row].Tokens[..stopped[row].Tokens.Length], stopped[row].Tokens);
        }
        Assert.Equal(FinishReason.Stop, stopped[0].FinishReason);
    }

    [Fact]
    public void Ids_a_padded_vocabulary_holds_beyond_the_tokenizers_are_never_sampled()
    {
        // Given a model with 8 rows more than the tokenizer's 47 ids and a head that makes every id equally likely
        var tokenizer = TestCharTokenizer.WithoutEos();
        using var model = TinyModels.Model(tokenizer.VocabSize + 8);
        using (no_grad()) model.named_parameters().Single(p => p.name == "lm_head.weight").parameter.zero_();
        var generator = new Generator(model, tokenizer);

        // When 4 rows sample 30 tokens each (about 17 of the 120 would be padding ids if they could be drawn)
        var rows = generator.Generate([Prompt("go", tokenizer), Prompt("a", tokenizer), Prompt("7", tokenizer), Prompt("x", tokenizer)],
            new SamplingOptions { Temperature = 1, MaxNewTokens = 30, Seed = 3 });

        // Then every token is one the tokenizer defines
        Assert.All(rows, r => Assert.All(r.Tokens, t => Assert.InRange(t, 0, tokenizer.VocabSize - 1)));
        Assert.All(rows, r => Assert.Equal(30, r.Tokens.Length));
    }

    [Fact]
    public void A_row_ends_at_any_of_the_models_end_tokens()
    {
        // Given each row's greedy text, and a tokenizer that also ends on the token row 0 writes at position 5
        var plain = TestCharTokenizer.WithoutEos();
        using var model = TinyModels.Model(plain.VocabSize);
        int[][] prompts = [Prompt("go", plain), Prompt("a longer prompt", plain)];
        var full = new Generator(model, plain).Generate(prompts, Greedy with { MaxNewTokens = 30 });
        int end = full[0].Tokens[5];

        // When generating again with it as an end token
        var ended = new Generator(model, new TestCharTokenizer(int.MaxValue, end)).Generate(prompts, Greedy with { MaxNewTokens = 30 });

        // Then each row stops at its first such token, as at EOS
        for (int row = 0; row < prompts.Length; row++)
        {
            int at = Array.IndexOf(full[row].Tokens, end);
            Assert.Equal(at < 0 ? full[row].Tokens : full[row].Tokens[..(at + 1)], ended[row].Tokens);
            Assert.Equal(at < 0 ? FinishReason.Length : FinishReason.Eos, ended[row].FinishReason);
        }
    }

    [Fact]
    public void Ignore_eos_keeps_the_requests_own_stop_token_ids()
    {
        HashSet<int> ends = [2];
        var options = new SamplingOptions { IgnoreEos = true, StopTokenIds = [7], MaxNewTokens = 10 };

        Assert.Null(RowEnd.After([5, 2], options, ends, new TestCharTokenizer(), 0, contextFull: false));
        Assert.Equal(FinishReason.Eos, RowEnd.After([5, 7], options, ends, new TestCharTokenizer(), 0, contextFull: false)?.Reason);
        Assert.Equal(FinishReason.Eos, RowEnd.After([5, 2], options with { IgnoreEos = false }, ends, new TestCharTokenizer(), 0, contextFull: false)?.Reason);
    }

    [Fact]
    public void A_token_id_outside_the_vocabulary_is_refused_before_it_reaches_the_cache()
    {
        var tokenizer = new TestCharTokenizer();
        using var model = TinyModels.Model(tokenizer.VocabSize);
        var generator = new Generator(model, tokenizer);
        using var state = generator.Prefill([Prompt("go", tokenizer)]);

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => generator.Append(state, [[tokenizer.Encode("a")[0], 999]]));

        Assert.Contains("Token id 999 of row 0 is outside the vocabulary", e.Message);
        Assert.Equal(3L, state.Lengths[0]);
        Assert.Throws<ArgumentOutOfRangeException>(() => generator.Prefill([[tokenizer.Bos, -1]]));
    }

    [Fact]
    public void Rows_that_finish_early_are_dropped_without_changing_the_others()
    {
        // Given six rows' full greedy texts and a one-character stop string that ends half or more of them early (but not all)
        var tokenizer = TestCharTokenizer.WithoutEos();
        using var model = TinyModels.Model(tokenizer.VocabSize);
        var generator = new Generator(model, tokenizer);
        var prompts = Enumerable.Range(0, 6).Select(i => Prompt($"row {i}", tokenizer)).ToArray();
        var full = generator.Generate(prompts, Greedy with { MaxNewTokens = 30 });
        var stop = full.SelectMany(g => g.Text[..10].Distinct()).GroupBy(c => c)
            .Where(g => g.Count() is >= 3 and <= 5).MaxBy(g => g.Count())!.Key.ToString();

        // When generating again with it (the batch shrinks once half the rows are done)
        generator.ResetCounters();
        var stopped = generator.Generate(prompts, Greedy with { MaxNewTokens = 30, Stop = [stop] });

        // Then every row is still exactly its own greedy text cut at the stop string
        Assert.True(stopped.Count(g => g.Text.Length <= 10) >= 3, "precondition: half the rows stop early");
        Assert.Contains(stopped, g => g.Text.Length > 10);
        for (var row = 0; row < 6; row++)
        {
            var at = full[row].Text.IndexOf(stop, StringComparison.Ordinal);
            var expected = at < 0 ? full[row].Text : full[row].Text[..(at + 1)];
            Assert.Equal(expected, stopped[row].Text);
        }
        Assert.Equal(stopped.Sum(g => g.Tokens.Length - 1), generator.DecodeTokens);
    }

    [Fact]
    public void Abandon_ends_a_row_at_the_end_of_the_line_it_refuses_and_leaves_the_others()
    {
        // Given eight rows' full greedy texts, some of which hold a newline
        var tokenizer = TestCharTokenizer.WithoutEos();
        using var model = TinyModels.Model(tokenizer.VocabSize);
        var generator = new Generator(model, tokenizer);
        var prompts = Enumerable.Range(0, 8).Select(i => Prompt($"line {i}\n", tokenizer)).ToArray();
        var full = generator.Generate(prompts, Greedy with { MaxNewTokens = 40 });

        // When generating again, abandoning even rows at the end of their first line
        var seen = new List<(int Row, string Lines)>();
        var abandoned = generator.Generate(prompts, Greedy with
        {
            MaxNewTokens = 40,
            Abandon = (row, lines) => { seen.Add((row, lines)); return row % 2 == 0; },
        });

        // Then an even row with a newline is its greedy text to that newline; every other row is its full text,
        // and the callback saw each line as it ended
        Assert.Contains(Enumerable.Range(0, 8), row => row % 2 == 0 && full[row].Text.Contains('\n'));
        Assert.Contains(Enumerable.Range(0, 8), row => row % 2 == 1 && full[row].Text.Contains('\n'));
        for (var row = 0; row < 8; row++)
        {
            var at = full[row].Text.IndexOf('\n');
            bool cut = row % 2 == 0 && at >= 0;
            Assert.Equal(cut ? full[row].Text[..(at + 1)] : full[row].Text, abandoned[row].Text);
            Assert.Equal(cut ? FinishReason.Abandoned : FinishReason.Length, abandoned[row].FinishReason);
            var lineEnds = Enumerable.Range(0, abandoned[row].Text.Length).Where(i => abandoned[row].Text[i] == '\n');
            Assert.Equal(lineEnds.Select(i => abandoned[row].Text[..(i + 1)]), seen.Where(x => x.Row == row).Select(x => x.Lines));
        }
    }

    [Fact]
    public void Eos_ends_a_row_and_is_kept_in_tokens_but_not_in_text()
    {
        // Given the greedy tokens without EOS, make the 5th generated token the EOS id of a second tokenizer
        var plain = TestCharTokenizer.WithoutEos();
        using var model = TinyModels.Model(plain.VocabSize);
        var prompt = Prompt("eos test", plain);
        var full = new Generator(model, plain).Generate([prompt], Greedy)[0];
        var eosTokenizer = new TestCharTokenizer(eos: full.Tokens[4]);

        var generation = new Generator(model, eosTokenizer).Generate([prompt], Greedy)[0];

        var firstEos = Array.IndexOf(full.Tokens, full.Tokens[4]);
        Assert.Equal(full.Tokens[..(firstEos + 1)], generation.Tokens);
        Assert.Equal(generation.Tokens.Length, generation.LogProbs.Length);
        Assert.Equal(FinishReason.Eos, generation.FinishReason);
        Assert.Equal(plain.Decode(full.Tokens.AsSpan(0, firstEos)), generation.Text);
        Assert.Null(generation.StopString);
    }

    [Fact]
    public void Ignore_eos_runs_every_row_to_max_new_tokens()
    {
        // Given a tokenizer whose EOS is the 5th greedy token, and generation that ignores EOS
        var plain = TestCharTokenizer.WithoutEos();
        using var model = TinyModels.Model(plain.VocabSize);
        var prompt = Prompt("eos test", plain);
        var full = new Generator(model, plain).Generate([prompt], Greedy)[0];
        var eosTokenizer = new TestCharTokenizer(eos: full.Tokens[4]);

        // When generating with the EOS tokenizer, EOS ignored
        var generator = new Generator(model, eosTokenizer);
        var generation = generator.Generate([prompt], Greedy with { IgnoreEos = true })[0];

        // Then the row runs past EOS to the length limit, the same tokens as without an EOS id
        Assert.Equal(full.Tokens, generation.Tokens);
        Assert.Equal(FinishReason.Length, generation.FinishReason);
        Assert.Equal(Greedy.MaxNewTokens, generation.Tokens.Length);
    }

    [Fact]
    public void Continuing_one_step_at_a_time_equals_generating_in_one_go()
    {
        // Given a state prefilled with two prompts and a stop string that occurs in row 0's greedy text
        var tokenizer = TestCharTokenizer.WithoutEos();
        using var model = TinyModels.Model(tokenizer.VocabSize);
        var generator = new Generator(model, tokenizer);
        int[][] prompts = [Prompt("step", tokenizer), Prompt("another one", tokenizer)];
        var full = generator.Generate(prompts, Greedy with { MaxNewTokens = 45 });
        var stop = full[0].Text.Substring(3, 1);

        // When continuing the same state three times, each call ending its rows at the stop string
        using var state = generator.Prefill(prompts);
        var pieces = new List<int>[] { [], [] };
        for (var call = 0; call < 3; call++)
        {
            var step = generator.Continue(state, Greedy with { MaxNewTokens = 15, Stop = [stop] });
            for (var row = 0; row < 2; row++) pieces[row].AddRange(step[row].Tokens);
        }

        // Then the concatenated steps are the one-go greedy tokens, and the state holds prompt + generated
        for (var row = 0; row < 2; row++)
        {
            Assert.True(pieces[row].Count > 0);
            Assert.Equal(full[row].Tokens[..pieces[row].Count], pieces[row]);
            Assert.Equal(prompts[row].Length + pieces[row].Count, state.Lengths[row]);
        }
    }

    [Fact]
    public void Appended_tokens_of_different_lengths_continue_like_a_longer_prompt()
    {
        var tokenizer = TestCharTokenizer.WithoutEos();
        using var model = TinyModels.Model(tokenizer.VocabSize);
        var generator = new Generator(model, tokenizer);
        int[][] prompts = [Prompt("ab", tokenizer), Prompt("abcde", tokenizer), Prompt("z", tokenizer)];
        int[][] extra = [tokenizer.Encode("xyz"), [], tokenizer.Encode("q")];

        using var state = generator.Prefill(prompts);
        generator.Append(state, extra);
        var continued = generator.Continue(state, Greedy with { MaxNewTokens = 10 });

        for (var row = 0; row < 3; row++)
        {
            var expected = TinyModels.GreedyReference(model, [.. prompts[row], .. extra[row]], 10);
            Assert.Equal(expected, continued[row].Tokens);
        }
        Assert.Equal(prompts.Sum(p => p.Length) + 4, generator.PrefillTokens);
    }

    [Fact]
    public void Forked_states_continue_independently_of_their_source()
    {
        var tokenizer = TestCharTokenizer.WithoutEos();
        using var model = TinyModels.Model(tokenizer.VocabSize);
        var generator = new Generator(model, tokenizer);
        using var state = generator.Prefill([Prompt("root", tokenizer), Prompt("other root", tokenizer)]);
        generator.Continue(state, Greedy with { MaxNewTokens = 3 });

        using var fork = state.Fork([1, 0, 1]);
        generator.Append(fork, [tokenizer.Encode("k"), [], tokenizer.Encode("mm")]);
        var fromFork = generator.Continue(fork, Greedy with { MaxNewTokens = 5 });
        var fromSource = generator.Continue(state, Greedy with { MaxNewTokens = 5 });

        Assert.Equal(3, fork.Rows);
        Assert.Equal(fromSource[0].Tokens, fromFork[1].Tokens);
        Assert.NotEqual(fromFork[0].Tokens, fromFork[2].Tokens);
        Assert.Equal(state.Lengths[1] - 5 + 1 + 5, fork.Lengths[0]);
    }

    [Fact]
    public void Rows_stop_at_max_new_tokens_and_at_max_positions()
    {
        var tokenizer = TestCharTokenizer.WithoutEos();
        using var model = TinyModels.Model(tokenizer.VocabSize, maxPositions: 16);
        var generator = new Generator(model, tokenizer);
        int[][] prompts = [Prompt("ab", tokenizer), Prompt("abcdefghij", tokenizer)]; // 3 and 11 tokens

        using var state = generator.Prefill(prompts);
        var first = generator.Continue(state, Greedy with { MaxNewTokens = 8 });
        var second = generator.Continue(state, Greedy with { MaxNewTokens = 8 });

        Assert.Equal([8, 5], first.Select(g => g.Tokens.Length));
        Assert.All(first, g => Assert.Equal(FinishReason.Length, g.FinishReason));
        Assert.Equal([5, 0], second.Select(g => g.Tokens.Length));
        Assert.Equal([16L, 16L], state.Lengths);
    }

    [Fact]
    public void Tiny_model_learns_a_fixed_string_and_reproduces_it_greedily()
    {
        // Given a fresh model and one sentence framed by BOS and EOS
        const string text = "the quick brown fox jumps over the lazy dog\n";
        var tokenizer = new TestCharTokenizer();
        torch.manual_seed(7);
        using var model = new Transformer(TinyModels.Config(tokenizer.VocabSize, initStd: 0.02) with { NumKvHeads = 4 });
        int[] sequence = [tokenizer.Bos, .. tokenizer.Encode(text), tokenizer.Eos];
        using var ids = tensor(sequence.Select(t => (long)t).ToArray()).unsqueeze(0);     // (1, T)
        using var inputs = ids.narrow(1, 0, sequence.Length - 1);                        // (1, T-1)
        using var targets = ids.narrow(1, 1, sequence.Length - 1);                       // (1, T-1)
        using var optimizer = optim.AdamW(model.parameters(), lr: 1e-2, weight_decay: 0.0);

        // When training next-token prediction for 100 steps
        var firstLoss = 0f;
        var loss = 0f;
        for (var step = 0; step < 100; step++)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            var logits = model.call(inputs);                                             // (1, T-1, V)
            var l = nn.functional.cross_entropy(logits.view(-1, tokenizer.VocabSize), targets.reshape(-1));
            l.backward();
            optimizer.step();
            loss = l.item<float>();
            if (step == 0) firstLoss = loss;
        }

        // Then the loss has collapsed and greedy decoding from BOS writes the sentence and stops at EOS
        var generation = new Generator(model, tokenizer).Generate([[tokenizer.Bos]], Greedy with { MaxNewTokens = 60 })[0];
        Assert.True(loss < 0.05f, $"loss {firstLoss} → {loss}");
        Assert.Equal(text, generation.Text);
        Assert.Equal(FinishReason.Eos, generation.FinishReason);
    }
}
