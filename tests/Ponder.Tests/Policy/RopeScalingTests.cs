using Ponder.Interop;
using Ponder.Policy;
using Ponder.Tests.Interop;
using static TorchSharp.torch;

namespace Ponder.Tests.Policy;

public sealed class RopeScalingTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Llama 3.2 1B's rope_scaling (and head_dim 64, rope_theta 500,000).</summary>
    private static readonly RopeScaling Llama32 = new()
    {
        RopeType = "llama3", Factor = 32, LowFreqFactor = 1, HighFreqFactor = 4, OriginalMaxPositions = 8192,
    };

    [Theory]
    // frequency index, expected scaled inverse frequency (float32 plain frequencies, the formula in float64)
    [InlineData(0, 1.0)]                          // wavelength 6.3: shorter than 8192 / 4, kept
    [InlineData(14, 0.0032114461064338684)]       // 1,956: still kept
    [InlineData(15, 0.0012905480279647187)]       // 2,948: blended
    [InlineData(16, 0.00042955679656939616)]      // 4,443: blended
    [InlineData(17, 9.708286858481353e-05)]       // 6,695: blended
    [InlineData(18, 1.9461638657958247e-05)]      // 10,089: longer than 8192 / 1, divided by 32
    [InlineData(31, 9.418306490260875e-08)]
    public void Llama3_scaling_keeps_short_wavelengths_divides_long_ones_and_blends_between(int index, double expected)
    {
        using var scope = NewDisposeScope();
        var scaled = Llama32.Scale(Rotary.InverseFrequencies(64, 500000), 500000).data<float>().ToArray();

        Assert.Equal(32, scaled.Length);
        Assert.Equal(expected, scaled[index], expected * 1e-5);
    }

    [Fact]
    public void Llama3_divisors_for_gguf_are_the_ratio_of_plain_to_scaled_frequencies()
    {
        using var scope = NewDisposeScope();
        var plain = Rotary.InverseFrequencies(64, 500000).data<float>().ToArray();
        var scaled = Llama32.Scale(Rotary.InverseFrequencies(64, 500000), 500000).data<float>().ToArray();

        var divisors = Llama32.Llama3Divisors(plain, 500000);

        Assert.Equal(1f, divisors[0]);
        Assert.Equal(32f, divisors[^1]);
        for (int i = 0; i < plain.Length; i++) Assert.Equal(plain[i] / scaled[i], divisors[i], divisors[i] * 1e-5);
    }

    [Theory]
    // Qwen2.5's documented long-context setting: head_dim 128, rope_theta 1e6, factor 4 over 32,768 positions;
    // dimensions below 23 kept, from 40 on interpolated, a ramp between (the formula in float64 on float32 frequencies)
    [InlineData(0, 1.0)]
    [InlineData(23, 0.006978305988013744)]
    [InlineData(24, 0.005375321488827467)]
    [InlineData(31, 0.000802959712660488)]
    [InlineData(39, 6.490394298452884e-05)]
    [InlineData(40, 4.4456985051510856e-05)]
    [InlineData(63, 3.102344408034696e-07)]
    public void Yarn_keeps_fast_frequencies_interpolates_slow_ones_and_ramps_between(int index, double expected)
    {
        var yarn = new RopeScaling { RopeType = "yarn", Factor = 4, OriginalMaxPositions = 32768 };
        using var scope = NewDisposeScope();
        var scaled = yarn.Scale(Rotary.InverseFrequencies(128, 1e6), 1e6).data<float>().ToArray();

        Assert.Equal(expected, scaled[index], expected * 1e-5);
        Assert.Equal(0.1 * Math.Log(4) + 1, yarn.AttentionFactor, 12);
        using var rotary = new Rotary(128, 8, 1e6, yarn);
        Assert.Equal((float)yarn.AttentionFactor, rotary.CpuTables.Cos[0, 0].item<float>(), 6);   // cos 0 scaled by the attention factor
    }

    [Fact]
    public void A_yarn_folder_serves_its_original_context_stretched_by_the_factor_as_vllm_does()
    {
        // Given a Llama folder of 64 positions with yarn at factor 4 and no original context named (nulls as transformers reads them)
        HfFolders.Llama(_dir.Path).Dispose();
        string config = _dir.File("config.json");
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"rope_scaling\": null",
            "\"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4.0, \"beta_fast\": null, \"mscale\": 1.0, \"truncate\": true}"));

        // When it is loaded
        var loaded = HfCheckpoint.Load(_dir.Path, CPU);

        // Then the original context is the config's 64, the model takes 256 positions, and beta_fast is its default
        Assert.Equal(64, loaded.Model.Config.RopeScaling!.OriginalMaxPositions);
        Assert.Equal(256, loaded.Model.Config.MaxPositions);
        Assert.Null(loaded.Model.Config.RopeScaling.BetaFast);
        loaded.Model.Dispose();
    }

    [Fact]
    public void Linear_scaling_interpolates_positions()
    {
        // Given tables with linear factor 2 and plain ones
        using var scaled = new Rotary(16, 64, 500, new RopeScaling { RopeType = "linear", Factor = 2 });
        using var plain = new Rotary(16, 64, 500);

        // Then position 2p of the scaled tables is position p of the plain ones
        for (int p = 0; p < 32; p++)
        {
            Assert.Equal(plain.CpuTables.Cos[p].data<float>().ToArray(), scaled.CpuTables.Cos[2 * p].data<float>().ToArray());
            Assert.Equal(plain.CpuTables.Sin[p].data<float>().ToArray(), scaled.CpuTables.Sin[2 * p].data<float>().ToArray());
        }
        Assert.NotEqual(plain.CpuTables.Cos[5].data<float>().ToArray(), scaled.CpuTables.Cos[5].data<float>().ToArray());
    }

    [Theory]
    [InlineData("\"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 16}")]
    [InlineData("\"rope_scaling\": {\"type\": \"llama3\", \"factor\": 8.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 16, \"extra\": [1]}")]
    [InlineData("\"rope_parameters\": {\"rope_type\": \"llama3\", \"rope_theta\": 500.0, \"factor\": 8.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 16}")]
    public void A_llama3_scaled_folder_loads_and_saves_its_scaling(string scaling)
    {
        // Given a Llama folder whose config scales its rotary (transformers 4's rope_scaling, an old "type", or transformers 5's rope_parameters)
        var written = HfFolders.Llama(_dir.Path);
        string config = _dir.File("config.json");
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"rope_scaling\": null, \"rope_theta\": 500.0", scaling + (scaling.Contains("rope_theta") ? "" : ", \"rope_theta\": 500.0")));

        // When it is loaded
        var loaded = HfCheckpoint.Load(_dir.Path, CPU);

        // Then the scaling is read, and the forward pass differs from the unscaled model's
        Assert.Equal(new RopeScaling { RopeType = "llama3", Factor = 8, LowFreqFactor = 1, HighFreqFactor = 4, OriginalMaxPositions = 16 }, loaded.Model.Config.RopeScaling);
        Assert.Equal(500.0, loaded.Model.Config.RopeTheta);
        int[] tokens = [.. Enumerable.Range(0, 40).Select(i => (i * 7 + 3) % 200)];
        using (var scope = NewDisposeScope())
            Assert.True(TinyModels.MaxAbsDiff(TinyModels.FullLogits(written, tokens), TinyModels.FullLogits(loaded.Model, tokens)) > 1e-2);

        // And saved as a Ponder checkpoint, it writes the scaling back and reloads to the same logits
        string saved = Path.Combine(_dir.Path, "saved");
        Checkpoint.Save(saved, loaded.Model.Config, loaded.Model, loaded.Tokenizer, loaded.State);
        string savedConfig = File.ReadAllText(Path.Combine(saved, "config.json"));
        Assert.Contains("\"rope_type\": \"llama3\"", savedConfig);
        Assert.Contains("\"factor\": 8.0,", savedConfig);                           // floats as transformers' validation wants them
        Assert.Contains("\"original_max_position_embeddings\": 16", savedConfig);
        var reloaded = HfCheckpoint.Load(saved, CPU);
        Assert.Equal(loaded.Model.Config.RopeScaling, reloaded.Model.Config.RopeScaling);
        using (var scope = NewDisposeScope())
            Assert.Equal(0f, TinyModels.MaxAbsDiff(TinyModels.FullLogits(loaded.Model, tokens), TinyModels.FullLogits(reloaded.Model, tokens)));
    }

    [Theory]
    [InlineData("{\"rope_type\": \"longrope\", \"factor\": 4.0, \"original_max_position_embeddings\": 32}", "rope scaling type 'longrope' is not supported (Ponder computes linear, llama3, yarn)")]
    [InlineData("{\"rope_type\": \"yarn\", \"factor\": 4.0, \"mscale\": 0.707, \"mscale_all_dim\": 0.707}", "rope_scaling mscale with mscale_all_dim is not supported")]
    [InlineData("{\"rope_type\": \"yarn\", \"factor\": 4.0, \"truncate\": false}", "rope_scaling truncate other than true is not supported")]
    [InlineData("{\"type\": \"dynamic\", \"factor\": 2.0}", "rope scaling type 'dynamic' is not supported")]
    [InlineData("{\"rope_type\": \"linear\", \"factor\": 0.5}", "rope_scaling factor is 0.5; it must be at least 1")]
    [InlineData("{\"rope_type\": \"llama3\", \"factor\": 8.0}", "needs low_freq_factor, high_freq_factor and original_max_position_embeddings")]
    [InlineData("{\"rope_type\": \"llama3\", \"factor\": 8.0, \"low_freq_factor\": 4.0, \"high_freq_factor\": 1.0, \"original_max_position_embeddings\": 16}", "high_freq_factor is 1; it must be above low_freq_factor 4")]
    [InlineData("{\"rope_type\": \"linear\", \"factor\": \"8\"}", "rope_scaling factor is a String, expected a number")]
    [InlineData("{\"factor\": 8.0}", "rope_scaling has no rope_type")]
    [InlineData("{\"rope_type\": \"linear\"}", "rope_scaling of type 'linear' has no factor")]
    [InlineData("[8]", "rope_scaling is a StartArray, expected an object or null")]
    public void A_scaling_ponder_cannot_compute_is_refused_naming_the_file(string scaling, string expected)
    {
        HfFolders.Llama(_dir.Path);
        string config = _dir.File("config.json");
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"rope_scaling\": null", "\"rope_scaling\": " + scaling));

        var error = Assert.ThrowsAny<Exception>(() => HfCheckpoint.Load(_dir.Path, CPU));

        Assert.IsType<InvalidDataException>(error);
        Assert.StartsWith(config + ": ", error.Message);
        Assert.Contains(expected, error.Message);
        Assert.DoesNotContain("\n", error.Message);
    }
}
