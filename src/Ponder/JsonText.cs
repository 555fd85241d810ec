using System.Text.Encodings.Web;
using System.Text.Json;

namespace Ponder;

/// <summary>JSON writing options for files people read (no \u escapes for '+' or '&lt;').</summary>
public static class JsonText
{
    public static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    public static readonly JsonSerializerOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}
