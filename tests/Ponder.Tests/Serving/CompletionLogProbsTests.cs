using Ponder.Policy;
using Ponder.Serving;
using Ponder.Tests.Policy;

namespace Ponder.Tests.Serving;

/// <summary>Which generated tokens a returned text's log-probabilities list, with byte-level tokens and cut stop strings.</summary>
public sealed class CompletionLogProbsTests
{
    [Fact]
    public void A_character_split_over_byte_tokens_keeps_both_tokens_with_their_bytes_and_a_cut_stop_string_none()
    {
        // Given a byte-level tokenizer and a generation "hé" + stop string "12", where 'é' is the two byte tokens C3 A9
        var tokenizer = ByteLevelBpeTokenizer.FromJson(TinyBpe.Json(null));
        int h = TinyBpe.Id("h"), c3 = TinyBpe.Id(ByteLevelAlphabet.Encode([0xC3])), a9 = TinyBpe.Id(ByteLevelAlphabet.Encode([0xA9])), twelve = TinyBpe.Id("12");
        var generation = new Generation([h, c3, a9, twelve], [-0.1f, -0.2f, -0.3f, -0.4f], "hé12", FinishReason.Stop, "12")
        {
            TopLogProbs = [[new(h, -0.1f), new(999_999, -0.5f)], [new(c3, -0.2f)], [new(a9, -0.3f)], [new(twelve, -0.4f)]],
        };

        // When it is returned with its log-probabilities
        var completion = LocalPolicy.ToCompletion(generation, tokenizer);

        // Then the text is "hé", and its tokens are h, C3 and A9: the split character whole, the stop string's token out
        Assert.Equal("hé", completion.Text);
        var tokens = completion.LogProbs!;
        Assert.Equal([-0.1f, -0.2f, -0.3f], tokens.Select(t => t.LogProb));
        Assert.Equal([(byte)'h'], tokens[0].Bytes);
        Assert.Equal([(byte)0xC3], tokens[1].Bytes);
        Assert.Equal([(byte)0xA9], tokens[2].Bytes);
        Assert.Equal([0, 1, 1], tokens.Select(t => t.Offset));
        // and an alternative the tokenizer cannot decode (a padded vocabulary) is left out
        Assert.Single(tokens[0].Top);
    }

    [Fact]
    public void A_stream_sends_whole_tokens_and_the_bytes_of_a_split_character_together()
    {
        // Given a byte-level tokenizer and a generation so far "h" + C3, the first byte of 'é', and then its A9
        var tokenizer = ByteLevelBpeTokenizer.FromJson(TinyBpe.Json(null));
        int h = TinyBpe.Id("h"), c3 = TinyBpe.Id(ByteLevelAlphabet.Encode([0xC3])), a9 = TinyBpe.Id(ByteLevelAlphabet.Encode([0xA9]));
        var early = new RowProgress(tokenizer.Decode([h, c3]), [h, c3], [-0.1f, -0.2f], null);
        var later = new RowProgress("hé", [h, c3, a9], [-0.1f, -0.2f, -0.3f], null);

        // When a stream takes the whole tokens of the first within its one safe character, then the rest of the second
        var (first, firstEnd) = LocalPolicy.WholeTokens(tokenizer, early, 0, 1);
        var (second, secondEnd) = LocalPolicy.WholeTokens(tokenizer, later, first.Count, 2);

        // Then the first delta is "h" alone, and C3 waits to go with A9 in the delta that makes 'é'
        Assert.Equal((1, 1), (first.Count, firstEnd));
        Assert.Equal([-0.2f, -0.3f], second.Select(t => t.LogProb));
        Assert.Equal([1, 1], second.Select(t => t.Offset));
        Assert.Equal(2, secondEnd);
    }
}
