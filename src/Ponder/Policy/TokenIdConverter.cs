using System.Text.Json;
using System.Text.Json.Serialization;

namespace Ponder.Policy;

/// <summary>Reads a config token id given as a number, a list of numbers (the first is kept) or null (−1); writes a number.</summary>
internal sealed class TokenIdConverter : JsonConverter<int>
{
    public override bool HandleNull => true;

    public override int Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                return -1;
            case JsonTokenType.Number:
                return reader.GetInt32();
            case JsonTokenType.StartArray:
                int first = -1;
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType != JsonTokenType.Number) throw new JsonException($"token id list holds a {reader.TokenType}, expected numbers");
                    if (first < 0) first = reader.GetInt32();
                }
                return first;
            default:
                throw new JsonException($"token id is a {reader.TokenType}, expected a number, a list of numbers or null");
        }
    }

    public override void Write(Utf8JsonWriter writer, int value, JsonSerializerOptions options) => writer.WriteNumberValue(value);
}
