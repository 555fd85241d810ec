namespace Ponder.Interop;

/// <summary>llama.cpp's <c>tokenizer.ggml.token_type</c> values.</summary>
public enum GgufTokenType
{
    Normal = 1,
    Unknown = 2,
    Control = 3,
    UserDefined = 4,
    Unused = 5,
    Byte = 6,
}
