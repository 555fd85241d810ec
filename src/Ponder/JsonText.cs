using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Ponder;

/// <summary>JSON writing options for files people read (no \u escapes for '+' or '&lt;').</summary>
public static class JsonText
{
    public static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    public static readonly JsonSerializerOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>A figure rounded to <paramref name="digits"/> places; one that is not a number (a median of nothing) is JSON null.</summary>
    public static JsonNode? Round(double x, int digits = 4) => double.IsFinite(x) ? JsonValue.Create(Math.Round(x, digits)) : null;
}
