namespace Ponder.Serving;

/// <summary>The <c>code</c> of an OpenAI-style error body; <see cref="ApiError"/> writes it in snake_case.</summary>
internal enum ApiErrorCode
{
    InvalidJson,
    InvalidType,
    InvalidValue,
    MissingRequiredParameter,
    UnknownParameter,
    UnsupportedParameter,
    ModelNotFound,
    ContextLengthExceeded,
    InvalidApiKey,
    RequestTooLarge,
    RequestTimeout,
    UnsupportedMediaType,
    MethodNotAllowed,
    QueueFull,
    NotFound,
    ServerError,
}
