using System.Text.Json;
using Ponder.Policy;

namespace Ponder.Serving;

/// <summary>
/// Reads an OpenAI request body strictly: every field has the type and range OpenAI documents, an unknown field is
/// refused (as OpenAI does), and fields Ponder cannot honour are refused unless they hold their neutral value —
/// nothing is silently ignored. <c>top_k</c> is accepted as vLLM and llama.cpp accept it. Every refusal is an
/// <see cref="ApiError"/> naming the parameter.
/// </summary>
internal static class RequestParser
{
    private static readonly HashSet<string> Common =
    [
        "model", "n", "temperature", "top_p", "top_k", "max_tokens", "stop", "seed", "stream", "stream_options",
        "reasoning_effort", "user", "metadata", "store", "service_tier", "frequency_penalty", "presence_penalty",
        "logprobs", "logit_bias", "tools", "tool_choice", "parallel_tool_calls", "response_format", "top_logprobs",
        "prompt_cache_key", "safety_identifier",
        // vLLM's sampling extras
        "ignore_eos", "stop_token_ids", "include_stop_str_in_output", "skip_special_tokens", "min_p", "min_tokens", "repetition_penalty",
    ];
    private static readonly HashSet<string> ChatOnly = ["messages", "max_completion_tokens"];
    private static readonly HashSet<string> TextOnly = ["prompt", "echo", "suffix", "best_of"];

    public static ServedRequest Parse(JsonElement body, bool chat, ServerOptions options)
    {
        if (body.ValueKind != JsonValueKind.Object)
            throw new ApiError(400, ApiErrorCode.InvalidJson, "The request body must be a JSON object.");
        foreach (var property in body.EnumerateObject())
            if (!Common.Contains(property.Name) && !(chat ? ChatOnly : TextOnly).Contains(property.Name))
                throw new ApiError(400, ApiErrorCode.UnknownParameter, $"Unrecognized request argument supplied: {property.Name}", property.Name);

        string model = String(body, "model") ?? throw Missing("model");
        IReadOnlyList<PromptInput> prompts = chat ? [new PromptInput(ChatPrompt(body, options.ChatTemplate), null)] : TextPrompts(body, options.MaxPrompts);
        int n = Int(body, "n", 1, options.MaxN) ?? 1;
        double? temperature = Double(body, "temperature", 0, 2);
        double topP = Double(body, "top_p", 0, 1) ?? 1;
        int topK = Math.Max(0, Int(body, "top_k", -1, int.MaxValue) ?? 0);   // −1 (vLLM) or 0: off
        string tokensField = chat && Has(body, "max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
        bool echo = !chat && (Bool(body, "echo") ?? false);
        if (tokensField != "max_tokens") Int(body, "max_tokens", 1, int.MaxValue);   // the deprecated field, overridden, is still checked
        int? givenTokens = Int(body, tokensField, echo ? 0 : 1, int.MaxValue);   // the model's context bounds it (400 beyond)
        int maxTokens = givenTokens ?? 0;                                   // 0: not given (the server's default, within the context)
        var stop = Stops(body, options.MaxStops);
        long? givenSeed = Long(body, "seed");
        long seed = givenSeed ?? Random.Shared.NextInt64(0, int.MaxValue);
        bool stream = Bool(body, "stream") ?? false;
        bool includeUsage = StreamOptions(body);
        if (!stream && Has(body, "stream_options")) throw ApiError.Invalid("stream_options", "'stream_options' is only allowed when 'stream' is true.");
        var effort = Effort(body);
        var logProbs = LogProbs(body, chat);
        RefuseUnsupported(body, chat);
        if (effort is not null && echo)
            throw ApiError.Invalid("echo", "'echo' cannot be combined with 'reasoning_effort'.");
        if (effort is not null && logProbs is not null)
            throw ApiError.Invalid("logprobs", "'logprobs' cannot be combined with 'reasoning_effort': a search's answer is chosen among many samples, not sampled once.");

        if (effort is not null && topP != 1) throw ApiError.Invalid("top_p", "'top_p' cannot be combined with 'reasoning_effort': the search samples at a temperature only.");
        if (effort is not null && topK != 0) throw ApiError.Invalid("top_k", "'top_k' cannot be combined with 'reasoning_effort': the search samples at a temperature only.");
        if (effort is { } level && temperature is not null && options.Effort.For(level).Strategy == Search.StrategyKind.ComputeOptimal)
            throw ApiError.Invalid("temperature", $"'temperature' cannot be combined with reasoning_effort '{level.ToString().ToLowerInvariant()}': it runs compute-optimal search with the validated settings it picks.");
        temperature ??= effort is { } e ? options.Effort.For(e).Settings.Temperature : 1.0;
        if (topP == 0) (topP, temperature) = (1, 0);                       // only the most likely token: greedy, as OpenAI reads 0
        var (ignoreEos, stopTokenIds, includeStop) = VllmExtras(body);
        if (effort is not null && (ignoreEos || stopTokenIds.Count > 0))
            throw ApiError.Invalid(ignoreEos ? "ignore_eos" : "stop_token_ids", "'ignore_eos' and 'stop_token_ids' cannot be combined with 'reasoning_effort': a search ends its solutions itself.");
        var sampling = new SamplingOptions
        {
            Temperature = temperature.Value, TopP = topP, TopK = topK, MaxNewTokens = maxTokens, Stop = stop, Seed = seed, IgnoreEos = ignoreEos,
            StopTokenIds = stopTokenIds,
        };
        return new ServedRequest(chat, model, prompts, n, sampling, effort, stream, includeUsage, logProbs, echo, PromptOnly: givenTokens == 0)
        {
            IncludeStop = includeStop, SeedGiven = givenSeed is not null,
        };
    }

    /// <summary>
    /// vLLM's sampling extras: <c>ignore_eos</c>, <c>stop_token_ids</c> (ids ≥ 0; the vocabulary is checked when the prompt is
    /// encoded) and <c>include_stop_str_in_output</c>; <c>skip_special_tokens</c>, <c>min_p</c>, <c>min_tokens</c> and
    /// <c>repetition_penalty</c> only at their neutral values (true, 0, 0, 1).
    /// </summary>
    private static (bool IgnoreEos, IReadOnlyList<int> StopTokenIds, bool IncludeStop) VllmExtras(JsonElement body)
    {
        if (Bool(body, "skip_special_tokens") == false) throw Unsupported("skip_special_tokens", "special tokens are always left out of the text");
        if (Double(body, "min_p", 0, 1) is { } minP && minP != 0) throw Unsupported("min_p", "must be 0");
        if (Int(body, "min_tokens", 0, int.MaxValue) is { } minTokens && minTokens != 0) throw Unsupported("min_tokens", "must be 0");
        if (Double(body, "repetition_penalty", 0, double.MaxValue) is { } penalty && penalty != 1) throw Unsupported("repetition_penalty", "must be 1");
        var ids = new List<int>();
        if (Present(body, "stop_token_ids") is { } list)
        {
            if (list.ValueKind != JsonValueKind.Array) throw ApiError.WrongType("stop_token_ids", "an array of token ids");
            foreach (var id in list.EnumerateArray())
                ids.Add(id.ValueKind == JsonValueKind.Number && id.TryGetInt32(out int v) && v >= 0 ? v : throw ApiError.WrongType("stop_token_ids", "an array of token ids"));
        }
        return (Bool(body, "ignore_eos") ?? false, ids, Bool(body, "include_stop_str_in_output") ?? false);
    }

    /// <summary>The prompt text of <paramref name="body"/>'s <c>messages</c> in the server's chat format (also for <c>/tokenize</c>).</summary>
    internal static string ChatPrompt(JsonElement body, IChatTemplate template)
    {
        if (!body.TryGetProperty("messages", out var messages) || messages.ValueKind == JsonValueKind.Null) throw Missing("messages");
        if (messages.ValueKind != JsonValueKind.Array) throw ApiError.WrongType("messages", "an array");
        if (messages.GetArrayLength() == 0) throw ApiError.Invalid("messages", "'messages' must hold at least one message.");
        var turns = new List<ChatTurn>();
        int i = 0;
        foreach (var message in messages.EnumerateArray())
        {
            string at = $"messages[{i++}]";
            if (message.ValueKind != JsonValueKind.Object) throw ApiError.WrongType(at, "an object");
            var role = String(message, "role", at + ".role") switch
            {
                null => throw Missing(at + ".role"),
                "system" => TurnRole.System,
                "developer" => TurnRole.Developer,
                "user" => TurnRole.User,
                "assistant" => TurnRole.Assistant,
                "tool" => TurnRole.Tool,
                var other => throw ApiError.Invalid(at + ".role", $"Invalid role '{other}' (known: system, developer, user, assistant, tool)."),
            };
            turns.Add(new ChatTurn(role, Content(message, at + ".content")));
        }
        try
        {
            return template.Render(turns);
        }
        catch (ArgumentException e)
        {
            throw ApiError.Invalid("messages", e.Message);
        }
    }

    /// <summary>A message's text: a string, or an array of text parts joined by newlines; empty for an assistant turn without text.</summary>
    private static string Content(JsonElement message, string param)
    {
        if (!message.TryGetProperty("content", out var content) || content.ValueKind == JsonValueKind.Null) return "";
        if (content.ValueKind == JsonValueKind.String) return Text(content, param);
        if (content.ValueKind != JsonValueKind.Array) throw ApiError.WrongType(param, "a string or an array of content parts");
        var text = new List<string>();
        foreach (var part in content.EnumerateArray())
        {
            if (part.ValueKind != JsonValueKind.Object) throw ApiError.WrongType(param, "an array of content parts");
            string type = String(part, "type", param + ".type") ?? throw Missing(param + ".type");
            if (type != "text") throw new ApiError(400, ApiErrorCode.UnsupportedParameter, $"Content parts of type '{type}' are not supported; only 'text'.", param);
            text.Add(String(part, "text", param + ".text") ?? throw Missing(param + ".text"));
        }
        return string.Join('\n', text);                                   // as vLLM joins text parts
    }

    /// <summary>
    /// The prompts of a completions request, as OpenAI takes them: a string, an array of strings, an array of token ids,
    /// or an array of arrays of token ids (at most <paramref name="maxPrompts"/>; ids are checked against the vocabulary
    /// when encoded).
    /// </summary>
    private static List<PromptInput> TextPrompts(JsonElement body, int maxPrompts)
    {
        if (!body.TryGetProperty("prompt", out var prompt) || prompt.ValueKind == JsonValueKind.Null) throw Missing("prompt");
        const string Shapes = "'prompt' must be a string, an array of strings, an array of token ids or an array of arrays of token ids";
        if (prompt.ValueKind == JsonValueKind.String) return [Text(prompt)];
        if (prompt.ValueKind != JsonValueKind.Array) throw ApiError.WrongType("prompt", "a string or an array");
        var items = prompt.EnumerateArray().ToList();
        if (items.Count == 0) throw ApiError.Invalid("prompt", "'prompt' must not be an empty array.");
        if (items.All(i => i.ValueKind == JsonValueKind.Number)) return [Ids(prompt)];
        if (items.Count > maxPrompts) throw ApiError.Invalid("prompt", $"'prompt' holds {items.Count} prompts; this server takes at most {maxPrompts} a request.");
        if (items.All(i => i.ValueKind == JsonValueKind.String)) return items.Select(Text).ToList();
        if (items.All(i => i.ValueKind == JsonValueKind.Array)) return items.Select(Ids).ToList();
        throw ApiError.Invalid("prompt", Shapes + ", not a mix.");

        static PromptInput Text(JsonElement e)
        {
            string text = RequestParser.Text(e, "prompt");
            return text.Length > 0 ? new PromptInput(text, null) : throw ApiError.Invalid("prompt", "'prompt' must not be empty.");
        }

        static PromptInput Ids(JsonElement e)
        {
            if (e.GetArrayLength() == 0) throw ApiError.Invalid("prompt", "'prompt' must not hold an empty array of token ids.");
            var ids = new int[e.GetArrayLength()];
            var k = 0;
            foreach (var id in e.EnumerateArray())
                ids[k++] = id.ValueKind == JsonValueKind.Number && id.TryGetInt32(out var v) && v >= 0 ? v
                    : throw ApiError.Invalid("prompt", $"'prompt' token ids must be whole numbers from 0, got {id.GetRawText()}.");
            return new PromptInput(null, ids);
        }
    }

    private static IReadOnlyList<string> Stops(JsonElement body, int maxStops)
    {
        if (!body.TryGetProperty("stop", out var stop) || stop.ValueKind == JsonValueKind.Null) return [];
        string[] stops = stop.ValueKind switch
        {
            JsonValueKind.String => [Text(stop, "stop")],
            JsonValueKind.Array => stop.EnumerateArray().Select(s => s.ValueKind == JsonValueKind.String ? Text(s, "stop") : throw ApiError.WrongType("stop", "a string or an array of strings")).ToArray(),
            _ => throw ApiError.WrongType("stop", "a string or an array of strings"),
        };
        if (stops.Length > maxStops) throw ApiError.Invalid("stop", $"'stop' holds {stops.Length} strings; at most {maxStops} are allowed.");
        if (stops.Any(s => s.Length == 0)) throw ApiError.Invalid("stop", "Stop strings must not be empty.");
        if (stops.FirstOrDefault(s => s.Length > MaxStopLength) is { } tooLong)   // each decoded token re-reads a window of about 4× it
            throw ApiError.Invalid("stop", $"A stop string holds {tooLong.Length} characters; at most {MaxStopLength} are allowed.");
        return stops;
    }

    /// <summary>Longest stop string taken.</summary>
    public const int MaxStopLength = 1024;

    private static bool StreamOptions(JsonElement body)
    {
        if (!body.TryGetProperty("stream_options", out var o) || o.ValueKind == JsonValueKind.Null) return false;
        if (o.ValueKind != JsonValueKind.Object) throw ApiError.WrongType("stream_options", "an object");
        foreach (var p in o.EnumerateObject())
            if (p.Name is not ("include_usage" or "include_obfuscation"))
                throw new ApiError(400, ApiErrorCode.UnknownParameter, $"Unrecognized stream option: {p.Name}", "stream_options." + p.Name);
        return Bool(o, "include_usage", "stream_options.include_usage") ?? false;
    }

    private static ReasoningEffort? Effort(JsonElement body) => String(body, "reasoning_effort") switch
    {
        null => null,
        "low" => ReasoningEffort.Low,
        "medium" => ReasoningEffort.Medium,
        "high" => ReasoningEffort.High,
        var other => throw ApiError.Invalid("reasoning_effort", $"Invalid value '{other}' for 'reasoning_effort' (known: low, medium, high)."),
    };

    /// <summary>Most likely tokens to return at each position, or null when the request wants no log-probabilities.</summary>
    /// <remarks>
    /// Chat takes <c>logprobs: true</c> and <c>top_logprobs</c> 0–20 (which needs <c>logprobs</c>); completions take
    /// <c>logprobs</c> 0–20 (OpenAI's legacy endpoint allows 5, vLLM 20).
    /// </remarks>
    private static int? LogProbs(JsonElement body, bool chat)
    {
        if (!chat)
        {
            if (Has(body, "top_logprobs")) throw Unsupported("top_logprobs", "/v1/completions takes 'logprobs': the number of most likely tokens");
            if (Present(body, "logprobs") is { ValueKind: JsonValueKind.False }) return null;          // as off, as before
            return Int(body, "logprobs", 0, MaxTopLogProbs);
        }
        var wanted = Bool(body, "logprobs") ?? false;
        var top = Int(body, "top_logprobs", 0, MaxTopLogProbs);
        if (top is not null && !wanted) throw ApiError.Invalid("top_logprobs", "'top_logprobs' needs 'logprobs' set to true.");
        return wanted ? top ?? 0 : null;
    }

    /// <summary>Most likely tokens a request may ask for at each position.</summary>
    public const int MaxTopLogProbs = 20;

    /// <summary>
    /// Fields Ponder does not implement are accepted only with their neutral values, and fields it does not use
    /// (<c>user</c>, <c>metadata</c>, <c>store</c>, <c>service_tier</c>, <c>prompt_cache_key</c>, <c>safety_identifier</c>)
    /// only with the types OpenAI documents.
    /// </summary>
    private static void RefuseUnsupported(JsonElement body, bool chat)
    {
        String(body, "user");
        String(body, "service_tier");
        String(body, "prompt_cache_key");
        String(body, "safety_identifier");
        Bool(body, "store");
        Bool(body, "parallel_tool_calls");
        if (Present(body, "metadata") is { } metadata)
        {
            if (metadata.ValueKind != JsonValueKind.Object) throw ApiError.WrongType("metadata", "an object of strings");
            foreach (var entry in metadata.EnumerateObject())
                if (entry.Value.ValueKind != JsonValueKind.String) throw ApiError.WrongType("metadata." + entry.Name, "a string");
        }
        if (Present(body, "logit_bias") is { ValueKind: not JsonValueKind.Object }) throw ApiError.WrongType("logit_bias", "an object");
        if (Present(body, "tools") is { ValueKind: not JsonValueKind.Array }) throw ApiError.WrongType("tools", "an array");
        if (Present(body, "response_format") is { ValueKind: not JsonValueKind.Object }) throw ApiError.WrongType("response_format", "an object");
        if (Present(body, "tool_choice") is { ValueKind: not (JsonValueKind.String or JsonValueKind.Object) })
            throw ApiError.WrongType("tool_choice", "a string or an object");
        foreach (var field in new[] { "frequency_penalty", "presence_penalty" })
            if (Double(body, field, -2, 2) is { } v && v != 0) throw Unsupported(field, "must be 0");
        if (body.TryGetProperty("logit_bias", out var bias) && bias.ValueKind == JsonValueKind.Object && bias.EnumerateObject().Any())
            throw Unsupported("logit_bias", "must be empty");
        if (body.TryGetProperty("tools", out var tools) && tools.ValueKind == JsonValueKind.Array && tools.GetArrayLength() > 0)
            throw Unsupported("tools", "tool calls are not supported");
        if (Present(body, "tool_choice") is { ValueKind: JsonValueKind.Object }) throw Unsupported("tool_choice", "tool calls are not supported");
        if (String(body, "tool_choice") is { } choice && choice != "none" && choice != "auto")
            throw Unsupported("tool_choice", "tool calls are not supported");
        if (body.TryGetProperty("response_format", out var format) && format.ValueKind == JsonValueKind.Object
            && String(format, "type", "response_format.type") is { } type && type != "text")
            throw Unsupported("response_format", "only 'text' is supported");
        if (!chat)
        {
            if (Has(body, "suffix")) throw Unsupported("suffix", "is not supported");
            if (Int(body, "best_of", 1, int.MaxValue) is { } bestOf && bestOf != 1) throw Unsupported("best_of", "use n, or reasoning_effort for a vote");
        }
    }

    private static bool Has(JsonElement o, string name) => Present(o, name) is not null;

    /// <summary>The field's value when present and not null.</summary>
    private static JsonElement? Present(JsonElement o, string name) => o.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    internal static string? String(JsonElement o, string name, string? param = null)
    {
        if (!o.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        return v.ValueKind == JsonValueKind.String ? Text(v, param ?? name) : throw ApiError.WrongType(param ?? name, "a string");
    }

    /// <summary>A JSON string's text; a lone surrogate (valid JSON, not text) is a 400 naming the parameter, not a fault.</summary>
    internal static string Text(JsonElement value, string param)
    {
        try
        {
            return value.GetString()!;
        }
        catch (InvalidOperationException)
        {
            throw ApiError.Invalid(param, $"'{param}' is not valid Unicode text (it holds a lone surrogate).");
        }
    }

    internal static bool? Bool(JsonElement o, string name, string? param = null)
    {
        if (!o.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        return v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : throw ApiError.WrongType(param ?? name, "a boolean");
    }

    private static double? Double(JsonElement o, string name, double min, double max)
    {
        if (!o.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Number) throw ApiError.WrongType(name, "a number");
        if (!v.TryGetDouble(out double d))                                 // valid JSON, but beyond a double (1e309)
            throw ApiError.Invalid(name, $"'{name}' must be between {min} and {max}, got {v.GetRawText()}.");
        return d >= min && d <= max ? d : throw ApiError.Invalid(name, $"'{name}' must be between {min} and {max}, got {d}.");
    }

    private static long? Long(JsonElement o, string name)
    {
        if (!o.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out long l)) return l;
        return v.ValueKind == JsonValueKind.Number && System.Numerics.BigInteger.TryParse(v.GetRawText(), out _)
            ? throw ApiError.Invalid(name, $"'{name}' must fit in 64 bits, got {v.GetRawText()}.")
            : throw ApiError.WrongType(name, "an integer");
    }

    private static int? Int(JsonElement o, string name, int min, int max)
    {
        if (!o.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out long l)) throw ApiError.WrongType(name, "an integer");
        return l >= min && l <= max ? (int)l : throw ApiError.Invalid(name, $"'{name}' must be between {min} and {max}, got {l}.");
    }

    private static ApiError Missing(string param) =>
        new(400, ApiErrorCode.MissingRequiredParameter, $"Missing required parameter: '{param}'.", param);

    private static ApiError Unsupported(string param, string why) =>
        new(400, ApiErrorCode.UnsupportedParameter, $"Unsupported value for '{param}': {why}.", param);
}
