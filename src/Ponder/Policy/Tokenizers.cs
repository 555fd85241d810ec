using System.Text.Json;

namespace Ponder.Policy;

/// <summary>Opens a Hugging Face <c>tokenizer.json</c> as the <see cref="ITokenizer"/> its model type calls for.</summary>
public static class Tokenizers
{
    /// <summary>
    /// Reads <paramref name="tokenizerJsonPath"/>. A WordLevel model gives a <see cref="CharTokenizer"/>, a BPE model a
    /// <see cref="ByteLevelBpeTokenizer"/> (which also reads <c>tokenizer_config.json</c> beside it); other model types
    /// throw <see cref="NotSupportedException"/>.
    /// </summary>
    public static ITokenizer Load(string tokenizerJsonPath)
    {
        string json = File.ReadAllText(tokenizerJsonPath);
        string? type;
        try
        {
            using var document = JsonDocument.Parse(json);
            type = document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("model", out var model)
                && model.ValueKind == JsonValueKind.Object
                && model.TryGetProperty("type", out var typeElement)
                && typeElement.ValueKind == JsonValueKind.String
                ? typeElement.GetString()
                : null;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{tokenizerJsonPath}: not valid JSON: {e.Message.ReplaceLineEndings(" ")}", e);
        }
        return type switch
        {
            "WordLevel" => CharTokenizer.FromJson(json, tokenizerJsonPath),
            "BPE" => ByteLevelBpeTokenizer.Load(tokenizerJsonPath),
            null => throw new InvalidDataException($"{tokenizerJsonPath}: no 'model.type'"),
            _ => throw new NotSupportedException($"{tokenizerJsonPath}: model type '{type}' is not supported yet"),
        };
    }
}
