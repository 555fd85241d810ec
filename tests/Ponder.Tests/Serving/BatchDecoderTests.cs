using Ponder.Policy;
using Ponder.Serving;
using Generator = Ponder.Policy.Generator;

namespace Ponder.Tests.Serving;

/// <summary>Decoding in pieces (for streaming and cancellation) gives what one generator call gives.</summary>
public sealed class PiecewiseDecoderTests
{
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
}
