using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Ponder.Policy;

namespace Ponder.Serving;

/// <summary>
/// A policy behind any OpenAI-compatible endpoint (<c>ponder serve</c>, vLLM, llama.cpp's server): one request per
/// call, asking for <c>n</c> completions with the given temperature, top_p, max_tokens, stop strings and seed
/// (top_k only when set, as vLLM and llama.cpp accept it). Per-completion token counts are known only for n = 1;
/// the batch's totals come from the response's usage.
/// </summary>
public sealed class RemotePolicy : ICompletionPolicy
{
    private readonly HttpClient _http;
    private readonly Uri _endpoint;
    private readonly string? _apiKey;

    /// <param name="http">The client to send with (owned by the caller).</param>
    /// <param name="baseAddress">The API root, e.g. <c>http://127.0.0.1:8080/v1/</c>.</param>
    /// <param name="model">The model id to ask for.</param>
    /// <param name="api">Completions or chat completions.</param>
    /// <param name="apiKey">Sent as a bearer token when given.</param>
    public RemotePolicy(HttpClient http, Uri baseAddress, string model, RemoteApi api = RemoteApi.Completions, string? apiKey = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(baseAddress);
        ArgumentException.ThrowIfNullOrWhiteSpace(model);
        string root = baseAddress.ToString();
        _endpoint = new Uri(new Uri(root.EndsWith('/') ? root : root + "/"), api == RemoteApi.Chat ? "chat/completions" : "completions");
        (_http, Model, Api, _apiKey) = (http, model, api, apiKey);
    }

    public string Model { get; }

    public RemoteApi Api { get; }

    public async Task<CompletionBatch> CompleteAsync(string prompt, int n, SamplingOptions options, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(n);
        options.Validate();
        using var request = new HttpRequestMessage(HttpMethod.Post, _endpoint)
        {
            Content = new StringContent(Body(prompt, n, options).ToJsonString(), Encoding.UTF8, "application/json"),
        };
        if (_apiKey is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _apiKey);
        using var response = await _http.SendAsync(request, cancellation).ConfigureAwait(false);
        string text = await response.Content.ReadAsStringAsync(cancellation).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
            throw new HttpRequestException($"{_endpoint}: {(int)response.StatusCode} {ErrorMessage(text)}", null, response.StatusCode);
        return Parse(text, n);
    }

    private JsonObject Body(string prompt, int n, SamplingOptions options)
    {
        var body = new JsonObject
        {
            ["model"] = Model,
            ["n"] = n,
            ["temperature"] = options.Temperature,
            ["top_p"] = options.TopP,
            ["max_tokens"] = options.MaxNewTokens,
            ["seed"] = options.Seed,
        };
        if (Api == RemoteApi.Chat) body["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = prompt });
        else body["prompt"] = prompt;
        if (options.TopK > 0) body["top_k"] = options.TopK;
        if (options.Stop.Count > 0) body["stop"] = new JsonArray([.. options.Stop.Select(s => (JsonNode?)s)]);
        return body;
    }

    private CompletionBatch Parse(string text, int n)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            var root = document.RootElement;
            var choices = new Completion?[n];
            var usage = root.GetProperty("usage");
            int completionTokens = usage.GetProperty("completion_tokens").GetInt32();
            foreach (var choice in root.GetProperty("choices").EnumerateArray())
            {
                int index = choice.GetProperty("index").GetInt32();
                string content = (Api == RemoteApi.Chat ? choice.GetProperty("message").GetProperty("content").GetString() : choice.GetProperty("text").GetString()) ?? "";
                var finish = choice.GetProperty("finish_reason").GetString() == "length" ? CompletionFinish.Length : CompletionFinish.Stop;
                if (index < 0 || index >= n || choices[index] is not null) throw new InvalidDataException($"choice index {index} is out of range or repeated");
                choices[index] = new Completion(content, finish, n == 1 ? completionTokens : null);
            }
            if (choices.Any(c => c is null)) throw new InvalidDataException($"asked for {n} choices, got {choices.Count(c => c is not null)}");
            return new CompletionBatch(choices!, usage.GetProperty("prompt_tokens").GetInt32(), completionTokens);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new InvalidDataException($"{_endpoint}: not an OpenAI completion response: {e.Message}", e);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{_endpoint}: {e.Message}", e);
        }
    }

    private static string ErrorMessage(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.GetProperty("error").GetProperty("message").GetString() ?? body;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return body.Length > 200 ? body[..200] : body;
        }
    }
}
