using System.Text.Json.Nodes;

namespace Ponder.Serving;

/// <summary>A request the server refuses: HTTP status and the OpenAI error body <c>{"error": {message, type, param, code}}</c>.</summary>
internal sealed class ApiError(int status, ApiErrorCode code, string message, string? param = null) : Exception(message)
{
    public int Status { get; } = status;
    public ApiErrorCode Code { get; } = code;
    public string? Param { get; } = param;

    public static ApiError Invalid(string param, string message) => new(400, ApiErrorCode.InvalidValue, message, param);

    public static ApiError WrongType(string param, string expected) =>
        new(400, ApiErrorCode.InvalidType, $"Invalid type for '{param}': expected {expected}.", param);

    /// <summary>OpenAI's error type for a status: authentication, rate limit, server or invalid request.</summary>
    public string Type => Status switch
    {
        401 => "authentication_error",
        429 => "rate_limit_error",
        >= 500 => "server_error",
        _ => "invalid_request_error",
    };

    public JsonObject ToJson() => new()
    {
        ["error"] = new JsonObject
        {
            ["message"] = Message,
            ["type"] = Type,
            ["param"] = Param,
            ["code"] = SnakeCase(Code),
        },
    };

    private static string SnakeCase(ApiErrorCode code) => string.Concat(code.ToString()
        .Select((ch, i) => char.IsUpper(ch) && i > 0 ? "_" + char.ToLowerInvariant(ch) : char.ToLowerInvariant(ch).ToString()));
}
