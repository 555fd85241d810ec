using Ponder.Policy;
using static TorchSharp.torch;
using Generator = Ponder.Policy.Generator;

namespace Ponder.Tests.Policy;

/// <summary>Joining rows of separately prefilled states into one batch (what a continuously batching server does).</summary>
public sealed class DecodeStateJoinTests
{
    private static readonly SamplingOptions Greedy = new() { Temperature = 0, MaxNewTokens = 12 };

    private static int[] Prompt(string text, TestCharTokenizer tokenizer) => [tokenizer.Bos, .. tokenizer.Encode(text)];

    [Fact]
    public void Joined_rows_continue_as_each_of_their_prompts_alone()
    {
        // Given one state already seven tokens into its generation and another freshly prefilled with two prompts
        var tokenizer = TestCharTokenizer.WithoutEos();
        using var model = TinyModels.Model(tokenizer.VocabSize);
        var generator = new Generator(model, tokenizer);
        int[] early = Prompt("hello world", tokenizer);
        int[][] fresh = [Prompt("a", tokenizer), Prompt("12+3", tokenizer)];
        using var running = generator.Prefill([early]);
        var first = generator.Continue(running, Greedy with { MaxNewTokens = 7 })[0].Tokens;
        using var arrived = generator.Prefill(fresh);

        // When the running row and the new rows (the second twice, in another order) are joined and continued together
        using var joined = DecodeState.Join([(running, [0]), (arrived, [1, 0, 1])]);
        var continued = generator.Continue(joined, Greedy);

        // Then each row continues exactly as greedy decoding of its own tokens by full forward passes
        int[][] contexts = [[.. early, .. first], fresh[1], fresh[0], fresh[1]];
        Assert.Equal(contexts.Select(c => (long)c.Length + Greedy.MaxNewTokens), joined.Lengths);
        for (var row = 0; row < contexts.Length; row++)
            Assert.Equal(TinyModels.GreedyReference(model, contexts[row], Greedy.MaxNewTokens), continued[row].Tokens);
        // and the parts are unchanged: the running state still continues its row
        Assert.Equal(TinyModels.GreedyReference(model, [.. early, .. first], 3), generator.Continue(running, Greedy with { MaxNewTokens = 3 })[0].Tokens);
    }

    [Fact]
    public void A_join_leaves_out_the_columns_only_departed_rows_held()
    {
        // Given a batch of a long and a short prompt (the short one left-padded to the long one's columns)
        var tokenizer = TestCharTokenizer.WithoutEos();
        using var model = TinyModels.Model(tokenizer.VocabSize);
        var generator = new Generator(model, tokenizer);
        int[][] prompts = [Prompt("a much longer prompt", tokenizer), Prompt("ab", tokenizer)];
        using var state = generator.Prefill(prompts);
        Assert.Equal(prompts[0].Length, state.Cache.Length);

        // When only the short row is kept
        using var kept = DecodeState.Join([(state, [1])]);

        // Then the cache holds only its columns, and it continues as before
        Assert.Equal(prompts[1].Length, kept.Cache.Length);
        Assert.Equal(TinyModels.GreedyReference(model, prompts[1], Greedy.MaxNewTokens), generator.Continue(kept, Greedy)[0].Tokens);
    }

    [Fact]
    public void Feed_appends_the_given_tokens_and_leaves_unfed_rows_as_they_were()
    {
        var tokenizer = TestCharTokenizer.WithoutEos();
        using var model = TinyModels.Model(tokenizer.VocabSize);
        var generator = new Generator(model, tokenizer);
        int[][] prompts = [Prompt("abc", tokenizer), Prompt("xy", tokenizer)];
        using var state = generator.Prefill(prompts);
        using var before = state.Logits.clone();
        var token = tokenizer.Encode("q")[0];

        generator.Feed(state, [token, 0], [true, false]);

        Assert.Equal([prompts[0].Length + 1L, prompts[1].Length], state.Lengths);
        using var expected = TinyModels.FullLogits(model, [.. prompts[0], token]);
        Assert.True(TinyModels.MaxAbsDiff(expected[-1], state.Logits[0]) < 2e-2f);
        Assert.Equal(0f, TinyModels.MaxAbsDiff(before[1], state.Logits[1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => generator.Feed(state, [tokenizer.VocabSize, 0], [true, false]));
    }

    [Fact]
    public void A_row_placed_over_an_ended_one_continues_as_its_prompt_alone_and_the_others_are_untouched()
    {
        // Given a batch of two rows seven tokens into their generation, and a fresh prompt prefilled apart
        var tokenizer = TestCharTokenizer.WithoutEos();
        using var model = TinyModels.Model(tokenizer.VocabSize);
        var generator = new Generator(model, tokenizer);
        int[][] prompts = [Prompt("first row", tokenizer), Prompt("second", tokenizer)];
        int[] arriving = Prompt("xyz", tokenizer);
        using var batch = generator.Prefill(prompts);
        var soFar = generator.Continue(batch, Greedy with { MaxNewTokens = 7 });
        using var fresh = generator.Prefill([arriving]);

        // When the arriving row takes row 0's place, and the batch goes on
        batch.Place(0, fresh, 0);
        var continued = generator.Continue(batch, Greedy);

        // Then it continues as its prompt alone, and row 1 as before; a row too long for the batch's columns is refused
        Assert.Equal(TinyModels.GreedyReference(model, arriving, Greedy.MaxNewTokens), continued[0].Tokens);
        Assert.Equal(TinyModels.GreedyReference(model, [.. prompts[1], .. soFar[1].Tokens], Greedy.MaxNewTokens), continued[1].Tokens);
        Assert.Equal(arriving.Length + Greedy.MaxNewTokens, batch.Lengths[0]);
        using var tooLong = generator.Prefill([Prompt(new string('a', 60), tokenizer)]);
        Assert.Throws<ArgumentException>(() => batch.Place(1, tooLong, 0));
    }
}
