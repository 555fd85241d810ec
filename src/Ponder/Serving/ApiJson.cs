using System.Text.Json.Nodes;

namespace Ponder.Serving;

/// <summary>OpenAI response bodies and stream chunks, built as JSON nodes.</summary>
internal static class ApiJson
{
    public static string Finish(CompletionFinish finish) => finish == CompletionFinish.Length ? "length" : "stop";

    public static JsonObject Usage(int prompt, int completion, int reasoning) => new()
    {
        ["prompt_tokens"] = prompt,
        ["completion_tokens"] = completion,
        ["total_tokens"] = prompt + completion,
        ["completion_tokens_details"] = new JsonObject { ["reasoning_tokens"] = reasoning },
    };

    public static JsonObject Models(string model, long created) => new()
    {
        ["object"] = "list",
        ["data"] = new JsonArray(Model(model, created)),
    };

    public static JsonObject Model(string model, long created) => new()
    {
        ["id"] = model,
        ["object"] = "model",
        ["created"] = created,
        ["owned_by"] = "ponder",
    };

    /// <summary>A whole response: <c>chat.completion</c> or <c>text_completion</c>.</summary>
    public static JsonObject Response(bool chat, string id, long created, string model, IReadOnlyList<Completion> choices, JsonObject usage)
    {
        var array = new JsonArray();
        for (int i = 0; i < choices.Count; i++)
        {
            var choice = new JsonObject { ["index"] = i };
            if (chat) choice["message"] = new JsonObject { ["role"] = "assistant", ["content"] = choices[i].Text, ["refusal"] = null };
            else choice["text"] = choices[i].Text;
            choice["logprobs"] = choices[i].LogProbs is { } tokens ? LogProbs(chat, tokens) : null;
            choice["finish_reason"] = Finish(choices[i].Finish);
            array.Add(choice);
        }
        return Envelope(chat ? "chat.completion" : "text_completion", id, created, model, array, usage);
    }

    /// <summary>One stream chunk for one choice: text (and the role, on a chat stream's first chunk) and/or its finish reason.</summary>
    public static JsonObject Chunk(bool chat, string id, long created, string model, int index, string? text, bool role, CompletionFinish? finish,
        IReadOnlyList<ServedToken>? logProbs = null)
    {
        var choice = new JsonObject { ["index"] = index };
        if (chat)
        {
            var delta = new JsonObject();
            if (role) delta["role"] = "assistant";
            if (text is not null) delta["content"] = text;
            choice["delta"] = delta;
        }
        else choice["text"] = text ?? "";
        choice["logprobs"] = logProbs is null ? null : LogProbs(chat, logProbs);
        choice["finish_reason"] = finish is { } f ? Finish(f) : null;
        return Envelope(chat ? "chat.completion.chunk" : "text_completion", id, created, model, new JsonArray(choice), null);
    }

    /// <summary>
    /// A choice's log-probabilities as OpenAI writes them: chat's <c>content</c> list (token, logprob, UTF-8 bytes,
    /// top_logprobs), or the legacy completions lists (tokens, token_logprobs, top_logprobs as token → logprob objects,
    /// text_offset).
    /// </summary>
    public static JsonObject LogProbs(bool chat, IReadOnlyList<ServedToken> tokens)
    {
        if (chat)
        {
            JsonObject Entry(string text, byte[] bytes, float logProb) =>
                new() { ["token"] = text, ["logprob"] = logProb, ["bytes"] = new JsonArray(bytes.Select(b => (JsonNode)(int)b).ToArray()) };
            var content = new JsonArray();
            foreach (var token in tokens)
            {
                var entry = Entry(token.Text, token.Bytes, token.LogProb ?? 0);          // chat never echoes: always a value
                entry["top_logprobs"] = new JsonArray(token.Top.Select(t => (JsonNode)Entry(t.Text, t.Bytes, t.LogProb)).ToArray());
                content.Add(entry);
            }
            return new JsonObject { ["content"] = content, ["refusal"] = null };
        }
        var tops = new JsonArray();
        foreach (var token in tokens)
        {
            // The most likely tokens and the sampled one (up to logprobs + 1 entries, as OpenAI's legacy endpoint); of
            // alternatives that decode alike, the most likely. Null for an echoed prompt's first token.
            if (token.LogProb is not { } own)
            {
                tops.Add(null);
                continue;
            }
            var top = new JsonObject();
            foreach (var (text, _, logProb) in token.Top)
                top.TryAdd(text, logProb);
            top.TryAdd(token.Text, own);
            tops.Add(top);
        }
        return new JsonObject
        {
            ["tokens"] = new JsonArray(tokens.Select(t => (JsonNode)t.Text).ToArray()),
            ["token_logprobs"] = new JsonArray(tokens.Select(t => t.LogProb is { } l ? (JsonNode)l : null).ToArray()),
            ["top_logprobs"] = tops,
            ["text_offset"] = new JsonArray(tokens.Select(t => (JsonNode)t.Offset).ToArray()),
        };
    }

    /// <summary>The last chunk of a stream asked to include usage: no choices, the request's usage.</summary>
    public static JsonObject UsageChunk(bool chat, string id, long created, string model, JsonObject usage) =>
        Envelope(chat ? "chat.completion.chunk" : "text_completion", id, created, model, [], usage);

    private static JsonObject Envelope(string type, string id, long created, string model, JsonArray choices, JsonObject? usage)
    {
        var body = new JsonObject
        {
            ["id"] = id,
            ["object"] = type,
            ["created"] = created,
            ["model"] = model,
            ["system_fingerprint"] = null,
            ["choices"] = choices,
        };
        if (usage is not null) body["usage"] = usage;
        return body;
    }
}
