using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using TorchSharp;
using static TorchSharp.torch;

namespace Ponder.Policy;

/// <summary>
/// A config's <c>rope_scaling</c>: how a checkpoint stretches its rotary frequencies past the context it was first
/// trained for. Three of transformers' kinds: <c>linear</c> (every frequency divided by <see cref="Factor"/>, i.e.
/// positions interpolated), <c>llama3</c> (Llama 3.1 and 3.2: frequencies whose wavelength is longer than
/// <c>original_max_position_embeddings / low_freq_factor</c> divided by the factor, those shorter than
/// <c>… / high_freq_factor</c> kept, the band between blended smoothly) and <c>yarn</c> (Qwen2.5's long context: the
/// frequencies that turn fewer than <c>beta_slow</c> times over the original context interpolated, those that turn more
/// than <c>beta_fast</c> times kept, a linear ramp between, and cos and sin scaled by the attention factor,
/// 0.1·ln(factor) + 1 unless given). The default (no scaling) is no record at all.
/// </summary>
[JsonConverter(typeof(RopeScalingConverter))]
public sealed record RopeScaling
{
    /// <summary>The kinds Ponder computes, for messages.</summary>
    public const string Known = "linear, llama3, yarn";

    /// <summary>transformers' <c>rope_type</c> (older configs call it <c>type</c>).</summary>
    public required string RopeType { get; init; }

    /// <summary>How much longer the context is than the one first trained for.</summary>
    public double Factor { get; init; } = 1;

    /// <summary>llama3: wavelengths past <c>original / low_freq_factor</c> are fully scaled.</summary>
    public double? LowFreqFactor { get; init; }

    /// <summary>llama3: wavelengths under <c>original / high_freq_factor</c> are kept.</summary>
    public double? HighFreqFactor { get; init; }

    /// <summary>llama3 and yarn: the context the checkpoint was first trained for (8,192 for Llama 3.1 and 3.2, 32,768 for Qwen2.5).</summary>
    public int? OriginalMaxPositions { get; init; }

    /// <summary>yarn: frequencies turning more than this many times over the original context are kept (32 by default).</summary>
    public double? BetaFast { get; init; }

    /// <summary>yarn: frequencies turning fewer than this many times are interpolated (1 by default).</summary>
    public double? BetaSlow { get; init; }

    /// <summary>yarn: the factor cos and sin are scaled by, when the config gives it (else 0.1·ln(factor) + 1).</summary>
    public double? YarnAttentionFactor { get; init; }

    /// <summary>What cos and sin are multiplied by: yarn's attention factor, 1 for the other kinds.</summary>
    public double AttentionFactor => RopeType == "yarn" ? YarnAttentionFactor ?? 0.1 * Math.Log(Factor) + 1 : 1;

    /// <summary>The first field that makes the scaling unusable, as "rope_scaling field is …: problem", or null.</summary>
    public string? Invalid()
    {
        if (RopeType is not ("linear" or "llama3" or "yarn"))
            return $"rope scaling type '{RopeType}' is not supported (Ponder computes {Known})";
        if (!(Factor >= 1) || double.IsInfinity(Factor))
            return $"rope_scaling factor is {Factor}; it must be at least 1";
        if (RopeType == "linear") return null;
        if (RopeType == "yarn")
        {
            if (OriginalMaxPositions is not { } context || context < 1)
                return "rope scaling type 'yarn' needs original_max_position_embeddings (a positive number)";
            double fast = BetaFast ?? 32, slow = BetaSlow ?? 1;
            if (!(slow > 0) || !(fast > slow) || double.IsInfinity(fast)) return $"rope_scaling beta_fast {fast} and beta_slow {slow}: they must be positive, beta_fast the larger";
            return YarnAttentionFactor is { } af && (!(af > 0) || double.IsInfinity(af)) ? $"rope_scaling attention_factor is {af}; it must be positive" : null;
        }
        if (LowFreqFactor is not { } low || HighFreqFactor is not { } high || OriginalMaxPositions is not { } original)
            return "rope scaling type 'llama3' needs low_freq_factor, high_freq_factor and original_max_position_embeddings";
        if (!(low > 0) || double.IsInfinity(low)) return $"rope_scaling low_freq_factor is {low}; it must be positive";
        if (!(high > low) || double.IsInfinity(high)) return $"rope_scaling high_freq_factor is {high}; it must be above low_freq_factor {low}";
        return original < 1 ? $"rope_scaling original_max_position_embeddings is {original}; it must be positive" : null;
    }

    /// <summary>
    /// The scaled inverse frequencies from the plain ones (hs/2, float32), computed as transformers does in float32:
    /// divided by the factor (linear), or by a factor that runs from 1 at short wavelengths to
    /// <see cref="Factor"/> at long ones (llama3).
    /// </summary>
    internal Tensor Scale(Tensor invFreq, double theta)
    {
        if (Invalid() is { } problem) throw new ArgumentException(problem);
        if (RopeType == "linear") return invFreq / Factor;
        if (RopeType == "yarn") return Yarn(invFreq, theta);
        double low = LowFreqFactor!.Value, high = HighFreqFactor!.Value, original = OriginalMaxPositions!.Value;
        var wavelength = invFreq.reciprocal() * (2 * Math.PI);                                  // as 2π / inv_freq
        var longest = wavelength > original / low;
        var shortest = wavelength < original / high;
        var scaled = where(longest, invFreq / Factor, invFreq);
        var smooth = (original / wavelength - low) / (high - low);                              // 0 at the long end, 1 at the short
        var blended = (1 - smooth) * scaled / Factor + smooth * scaled;
        return where(shortest.logical_or(longest), scaled, blended);
    }

    // transformers' _compute_yarn_parameters in float32: the dimensions whose frequencies turn between beta_fast and
    // beta_slow times over the original context (floor and ceil, as truncate does) ramp from kept to interpolated.
    private Tensor Yarn(Tensor invFreq, double theta)
    {
        int half = (int)invFreq.shape[0], dim = 2 * half;
        double Dimension(double rotations) =>
            dim * Math.Log(OriginalMaxPositions!.Value / (rotations * 2 * Math.PI)) / (2 * Math.Log(theta));
        double low = Math.Max(Math.Floor(Dimension(BetaFast ?? 32)), 0), high = Math.Min(Math.Ceiling(Dimension(BetaSlow ?? 1)), dim - 1);
        if (low == high) high += 0.001;                                                  // no division by zero
        var ramp = ((arange(half, ScalarType.Float32) - low) / (high - low)).clamp(0, 1);   // 0: kept, 1: interpolated
        var extrapolation = 1 - ramp;
        return invFreq / Factor * (1 - extrapolation) + invFreq * extrapolation;
    }

    /// <summary>
    /// What llama.cpp's converter writes as the <c>rope_freqs</c> tensor of a llama3-scaled model: for each of the plain
    /// frequencies <paramref name="invFreq"/>, the divisor llama.cpp applies to it (1 at short wavelengths, the factor at
    /// long ones), the plain frequency over the scaled one.
    /// </summary>
    internal float[] Llama3Divisors(float[] invFreq, double theta)
    {
        if (RopeType != "llama3") throw new InvalidOperationException($"rope scaling type '{RopeType}' has no frequency divisors");
        using var scope = NewDisposeScope();
        var plain = tensor(invFreq);
        return (plain / Scale(plain, theta)).data<float>().ToArray();
    }
}

/// <summary>
/// Reads <c>rope_scaling</c> (or transformers 5's <c>rope_parameters</c>) as HF writes it: null or a <c>default</c>
/// type give no scaling, the type is <c>rope_type</c> or <c>type</c>, fields Ponder does not use are skipped; writes
/// the fields of the record, <c>rope_type</c> first.
/// </summary>
internal sealed class RopeScalingConverter : JsonConverter<RopeScaling?>
{
    public override bool HandleNull => true;

    public override RopeScaling? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null) return null;
        if (reader.TokenType != JsonTokenType.StartObject) throw new JsonException($"rope_scaling is a {reader.TokenType}, expected an object or null");
        string? type = null;
        double? factor = null;
        double? low = null, high = null, fast = null, slow = null, attention = null, mscale = null, mscaleAllDim = null;
        int? original = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            string field = reader.GetString()!;
            reader.Read();
            switch (field)
            {
                case "rope_type" or "type":
                    type = reader.TokenType == JsonTokenType.String ? reader.GetString()
                        : throw new JsonException($"rope_scaling {field} is a {reader.TokenType}, expected a string");
                    break;
                // null is absent, as transformers reads these fields (`or` its default)
                case "factor": factor = NumberOrNull(ref reader, field); break;
                case "low_freq_factor": low = NumberOrNull(ref reader, field); break;
                case "high_freq_factor": high = NumberOrNull(ref reader, field); break;
                case "beta_fast": fast = NumberOrNull(ref reader, field); break;
                case "beta_slow": slow = NumberOrNull(ref reader, field); break;
                case "attention_factor": attention = NumberOrNull(ref reader, field); break;
                case "mscale": mscale = NumberOrNull(ref reader, field); break;
                case "mscale_all_dim": mscaleAllDim = NumberOrNull(ref reader, field); break;
                case "truncate":                     // absent means truncated; false or null (falsy in transformers) does not truncate
                    if (reader.TokenType is not JsonTokenType.True)
                        throw new JsonException("rope_scaling truncate other than true is not supported (Ponder's yarn ramp is truncated, transformers' default)");
                    break;
                case "original_max_position_embeddings":
                    original = reader.TokenType == JsonTokenType.Null ? null
                        : reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out int value) ? value
                        : throw new JsonException($"rope_scaling {field} is not a whole number ({reader.TokenType})");
                    break;
                default: reader.Skip(); break;   // e.g. rope_theta inside rope_parameters, which the config reads itself
            }
        }
        if (type is null) throw new JsonException("rope_scaling has no rope_type");
        // DeepSeek's variant (transformers computes it when both are set and nonzero): not computed here
        if (mscale is not (null or 0) && mscaleAllDim is not (null or 0))
            throw new JsonException("rope_scaling mscale with mscale_all_dim is not supported (Ponder computes transformers' plain yarn)");
        if (type == "default") return null;
        return new RopeScaling
        {
            RopeType = type, Factor = factor ?? throw new JsonException($"rope_scaling of type '{type}' has no factor"),
            LowFreqFactor = low, HighFreqFactor = high, OriginalMaxPositions = original, BetaFast = fast, BetaSlow = slow, YarnAttentionFactor = attention,
        };
    }

    private static double? NumberOrNull(ref Utf8JsonReader reader, string field) =>
        reader.TokenType == JsonTokenType.Null ? null
        : reader.TokenType == JsonTokenType.Number ? reader.GetDouble()
        : throw new JsonException($"rope_scaling {field} is a {reader.TokenType}, expected a number");

    public override void Write(Utf8JsonWriter writer, RopeScaling? value, JsonSerializerOptions options)
    {
        if (value is null)
        {
            writer.WriteNullValue();
            return;
        }
        writer.WriteStartObject();
        writer.WriteString("rope_type", value.RopeType);
        Float(writer, "factor", value.Factor);
        if (value.LowFreqFactor is { } low) Float(writer, "low_freq_factor", low);
        if (value.HighFreqFactor is { } high) Float(writer, "high_freq_factor", high);
        if (value.OriginalMaxPositions is { } original) writer.WriteNumber("original_max_position_embeddings", original);
        if (value.BetaFast is { } fast) Float(writer, "beta_fast", fast);
        if (value.BetaSlow is { } slow) Float(writer, "beta_slow", slow);
        if (value.YarnAttentionFactor is { } attention) Float(writer, "attention_factor", attention);
        writer.WriteEndObject();
    }

    // A float field as Python writes one (8.0, not 8): transformers' validation warns about factors that are not floats.
    private static void Float(Utf8JsonWriter writer, string name, double value)
    {
        string text = value.ToString("R", CultureInfo.InvariantCulture);
        writer.WritePropertyName(name);
        writer.WriteRawValue(text.Contains('.') || text.Contains('E') ? text : text + ".0");
    }
}
