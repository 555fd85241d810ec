using Ponder.Cli;

namespace Ponder.Tests.Cli;

public sealed class OptionsTests
{
    [Fact]
    public void Unknown_option_is_rejected_naming_it_and_the_known_ones()
    {
        var o = new Options("eval", ["--checkpoint", "c", "--cout", "5"]);
        o.Required("checkpoint");
        o.Int("count", 200);

        var e = Assert.Throws<UsageException>(() => o.Done());
        Assert.Equal("eval: unknown option '--cout' (known: --checkpoint, --count)", e.Message);
    }

    [Fact]
    public void Values_are_parsed_and_range_checked()
    {
        var o = new Options("x", ["--n=7", "--t", "0.5", "--flag", "--bad", "abc"]);

        Assert.Equal(7, o.Int("n", 0));
        Assert.Equal(0.5, o.Double("t", 1));
        Assert.True(o.Flag("flag"));
        var e = Assert.Throws<UsageException>(() => o.Int("bad", 0));
        Assert.Contains("'--bad' expects an integer, got 'abc'", e.Message);
        Assert.Throws<UsageException>(() => new Options("x", ["--n", "0"]).Int("n", 5, min: 1));
    }

    [Fact]
    public void Missing_required_option_and_repeated_option_are_errors()
    {
        Assert.Throws<UsageException>(() => new Options("eval", []).Required("checkpoint"));
        Assert.Throws<UsageException>(() => new Options("eval", ["--a", "1", "--a", "2"]));
    }

    [Fact]
    public void Kv_cache_type_is_parsed_and_a_wrong_one_named()
    {
        Assert.Null(new Options("eval", []).KvCache());
        Assert.Equal(TorchSharp.torch.ScalarType.BFloat16, new Options("eval", ["--kv-cache", "bf16"]).KvCache());
        Assert.Equal(TorchSharp.torch.ScalarType.Float32, new Options("eval", ["--kv-cache", "f32"]).KvCache());
        var e = Assert.Throws<UsageException>(() => new Options("eval", ["--kv-cache", "q8"]).KvCache());
        Assert.Equal("eval: option '--kv-cache' must be one of f32, bf16, got 'q8'", e.Message);
    }
}
