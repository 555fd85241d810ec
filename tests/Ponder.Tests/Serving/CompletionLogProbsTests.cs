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
}
