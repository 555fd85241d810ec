using Ponder.Policy;
using Ponder.Tasks;

namespace Ponder.Bench;

/// <summary>
/// Batch-64 fixed-length decode in rounds, as the alternated benchmarks read it: 64 held-out prompts sampled at
/// temperature 1 for 64 tokens each, EOS ignored (every row runs the whole length, as llama-bench's tg).
/// </summary>
internal sealed class FixedLengthDecode(Transformer model, ITokenizer tokenizer, string task)
{
    private readonly Generator _generator = new(model, tokenizer);
    private readonly List<int[]> _prompts = TaskRegistry.Create(task).Problems(Split.Test, 64, 0).Select(p => Prompting.Encode(tokenizer, p.Prompt)).ToList();
    private static readonly SamplingOptions Options = new() { Temperature = 1.0, MaxNewTokens = 64, Seed = 1, IgnoreEos = true };

    /// <summary>One generation, untimed (the JIT's first tiers, the caches).</summary>
    public void WarmUp() => _generator.Generate(_prompts, Options);

    /// <summary>Generations for about <paramref name="seconds"/>: tokens/s of the decode loops alone, and end to end (prefill included).</summary>
    public (double Decode, double EndToEnd) Round(double seconds)
    {
        var (tokens, decodeSeconds) = (0L, 0.0);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            _generator.ResetCounters();
            _generator.Generate(_prompts, Options);
            (tokens, decodeSeconds) = (tokens + _generator.DecodeTokens, decodeSeconds + _generator.DecodeTime.TotalSeconds);
        }
        return (tokens / decodeSeconds, tokens / clock.Elapsed.TotalSeconds);
    }
}
