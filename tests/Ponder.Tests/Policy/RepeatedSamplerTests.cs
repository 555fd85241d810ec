using Ponder.Policy;
using Generator = Ponder.Policy.Generator;

namespace Ponder.Tests.Policy;

public sealed class RepeatedSamplerTests
{
    [Fact]
    public void Rows_are_prompt_major_and_chunk_c_is_seeded_by_mix_of_seed_and_c()
    {
        // Given three prompts, four samples each, sampled in chunks of five rows
        var tokenizer = new TestCharTokenizer();
        using var model = TinyModels.Model(tokenizer.VocabSize, initStd: 0.05);
        var generator = new Generator(model, tokenizer);
        int[][] prompts = [[tokenizer.Bos, .. tokenizer.Encode("ab")], [tokenizer.Bos, .. tokenizer.Encode("12+3")], [tokenizer.Bos, .. tokenizer.Encode("x")]];
        var options = new SamplingOptions { Temperature = 1.0, MaxNewTokens = 6 };
        var sampledCounts = new List<int>();

        // When sampling
        var result = RepeatedSampler.Sample(generator, prompts, 4, options, seed: 9, batchSize: 5, sampled: sampledCounts.Add);

        // Then each prompt has its four samples, equal to the chunked generation done by hand
        Assert.Equal([5, 10, 12], sampledCounts);
        var rows = prompts.SelectMany(p => Enumerable.Repeat(p, 4)).ToList();
        var expected = rows.Chunk(5).SelectMany((chunk, c) => generator.Generate(chunk, options with { Seed = Seeds.Mix(9, c) })).ToList();
        for (int i = 0; i < prompts.Length; i++)
        {
            Assert.Equal(4, result[i].Count);
            for (int j = 0; j < 4; j++) Assert.Equal(expected[i * 4 + j].Tokens, result[i][j].Tokens);
        }
        Assert.True(result.SelectMany(r => r).Select(g => g.Text).Distinct().Count() > 1, "temperature 1 on a near-uniform model gives varied samples");
    }
}
