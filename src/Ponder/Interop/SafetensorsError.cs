namespace Ponder.Interop;

/// <summary>
/// Builds the one-line errors for malformed safetensors files. They are plain
/// <see cref="InvalidDataException"/>s (that type is sealed, so no subclass), each naming the file
/// and, where relevant, the tensor.
/// </summary>
internal static class SafetensorsError
{
    public static InvalidDataException For(string path, string message) => new($"{path}: {message}");

    public static InvalidDataException For(string path, string tensor, string message) => new($"{path}: tensor '{tensor}': {message}");
}
