using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http;
using Ponder.Policy;

namespace Ponder.Serving;

/// <summary>
/// The HTTP side of the server, kept thin: authenticate, read and validate the request, queue its work for the
/// model, and write the answer as JSON or as server-sent events. Generation itself runs on the <see cref="WorkQueue"/>.
/// </summary>
internal sealed class Endpoints(LocalPolicy policy, ServerOptions options, WorkQueue queue, IReadOnlyDictionary<ReasoningEffort, SearchReasoner> reasoners)
{
    private readonly long _created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    private long _promptTokens, _generationTokens, _reasoningTokens;   // over every answered request (for /metrics)

    /// <summary>
    /// One search per effort level, on <paramref name="policy"/> and <paramref name="reviser"/> (the searches' own
    /// generators); <see cref="ArgumentException"/> when a plan cannot run on this server.
    /// </summary>
    public static IReadOnlyDictionary<ReasoningEffort, SearchReasoner> Reasoners(Generator policy, Generator? reviser, ServerOptions options) =>
        options.Effort.All.ToDictionary(e => e.Effort, e => new SearchReasoner(e.Plan, policy, options.Prm, reviser, options.ComputePlan, options.StepLimits));

    public async Task AuthenticateAsync(HttpContext http, RequestDelegate next)
    {
        // Any origin may call, as vLLM and llama.cpp's server allow by default; a browser's preflight carries no key.
        http.Response.Headers.AccessControlAllowOrigin = "*";
        if (HttpMethods.IsOptions(http.Request.Method) && http.Request.Headers.ContainsKey("Access-Control-Request-Method"))
        {
            http.Response.Headers.AccessControlAllowMethods = "GET, POST, OPTIONS";
            http.Response.Headers.AccessControlAllowHeaders = http.Request.Headers.AccessControlRequestHeaders.Count > 0
                ? http.Request.Headers.AccessControlRequestHeaders.ToString() : "Authorization, Content-Type";
            http.Response.Headers.AccessControlMaxAge = "86400";
            http.Response.StatusCode = 204;
            return;
        }
        // As vLLM: the key guards the /v1 API; /health, /metrics and /tokenize answer monitors and tools without it
        // (matched as routing matches them: any case, a trailing slash allowed).
        string path = (http.Request.Path.Value ?? "").TrimEnd('/');
        bool open = OpenPaths.Any(p => string.Equals(p, path, StringComparison.OrdinalIgnoreCase));
        if (options.ApiKey is { } key && !open && !HasKey(http.Request.Headers.Authorization.ToString(), key))
        {
            await WriteErrorAsync(http, new ApiError(401, ApiErrorCode.InvalidApiKey,
                "Missing or incorrect API key: send 'Authorization: Bearer <key>'.")).ConfigureAwait(false);
            return;
        }
        await next(http).ConfigureAwait(false);
    }

    public Task ModelsAsync(HttpContext http) => WriteJsonAsync(http, 200, ApiJson.Models(options.ModelName, _created));

    public Task ModelAsync(HttpContext http) =>
        http.Request.RouteValues["id"] as string == options.ModelName
            ? WriteJsonAsync(http, 200, ApiJson.Model(options.ModelName, _created))
            : WriteErrorAsync(http, UnknownModel(http.Request.RouteValues["id"] as string));

    /// <summary>The routes and the one method each answers (a known route asked with another method is a 405).</summary>
    private static readonly (string Path, string Method)[] Routes =
        [("/v1/models", "GET"), ("/v1/chat/completions", "POST"), ("/v1/completions", "POST"),
         ("/health", "GET"), ("/metrics", "GET"), ("/tokenize", "POST"), ("/detokenize", "POST")];

    /// <summary>The routes outside the /v1 API, which answer without the key.</summary>
    private static readonly string[] OpenPaths = [.. Routes.Select(r => r.Path).Where(p => !p.StartsWith("/v1/", StringComparison.Ordinal))];

    /// <summary>vLLM's <c>GET /health</c>: 200 and an empty body while the server takes requests, 503 once it is stopping.</summary>
    public Task HealthAsync(HttpContext http)
    {
        http.Response.StatusCode = queue.Stopping ? 503 : 200;
        return Task.CompletedTask;
    }

    /// <summary>
    /// <c>GET /metrics</c> in Prometheus's text format, as vLLM's (with a <c>ponder:</c> prefix): requests waiting and
    /// searching, requests finished, cancelled and failed, prompt, generated and search tokens, and the decode batch's
    /// rows, each labelled with the model name.
    /// </summary>
    public Task MetricsAsync(HttpContext http)
    {
        var text = new StringBuilder();
        string model = options.ModelName.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)
            .Replace("\n", "\\n", StringComparison.Ordinal);                          // the label value's three escapes
        void Metric(string name, string type, string help, double value)
        {
            text.Append("# HELP ponder:").Append(name).Append(' ').Append(help).Append('\n');
            text.Append("# TYPE ponder:").Append(name).Append(' ').Append(type).Append('\n');
            text.Append("ponder:").Append(name).Append("{model_name=\"").Append(model).Append("\"} ")
                .Append(value.ToString("R", System.Globalization.CultureInfo.InvariantCulture)).Append('\n');
        }
        Metric("num_requests_waiting", "gauge", "Requests queued and not yet running (sampling and searches).", queue.Waiting);
        Metric("num_searches_running", "gauge", "reasoning_effort searches running beside the decode batch.", queue.Searching);
        Metric("request_success_total", "counter", "Requests answered.", queue.Completed);
        Metric("request_cancelled_total", "counter", "Requests whose client went away or that shutdown stopped.", queue.Cancelled);
        Metric("request_failed_total", "counter", "Requests that failed on the model's side.", queue.Failed);
        Metric("prompt_tokens_total", "counter", "Prompt tokens of answered requests, counted when each ends.", Interlocked.Read(ref _promptTokens));
        Metric("generation_tokens_total", "counter", "Completion tokens of answered requests, counted when each ends.", Interlocked.Read(ref _generationTokens));
        Metric("reasoning_tokens_total", "counter", "Tokens searches generated beyond the answers they returned (within generation_tokens_total).", Interlocked.Read(ref _reasoningTokens));
        Metric("batch_rows_running", "gauge", "Rows (completions) the decode batch runs now.", queue.BatchRowsRunning);
        Metric("batch_rows_peak", "gauge", "Most rows the decode batch has held at once.", queue.PeakBatchRows);
        Metric("batch_steps_total", "counter", "Decode steps of the batch.", queue.BatchSteps);
        Metric("batch_row_steps_total", "counter", "Rows summed over the batch's steps: tokens sampled, counted as they are decoded (rate() of it is decode tokens/s).", queue.BatchRowSteps);
        Metric("batch_joins_total", "counter", "Times requests joined the running decode batch.", queue.BatchJoins);
        http.Response.StatusCode = 200;
        http.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
        return http.Response.WriteAsync(text.ToString());
    }

    /// <summary>
    /// vLLM's <c>POST /tokenize</c>: the ids the completions endpoints would run for <c>prompt</c> (BOS added as they add
    /// it, unless <c>add_special_tokens</c> is false) or for chat <c>messages</c> in the server's chat format, with their
    /// count and the context length.
    /// </summary>
    public Task TokenizeAsync(HttpContext http) => AnswerAsync(http, "Tokenizing", async () =>
    {
        using var body = await ReadBodyAsync(http).ConfigureAwait(false);
        // vLLM's tokenize requests declare more fields; a client sends them at their defaults, which are what Ponder does.
        var root = Object(body, "model", "prompt", "messages", "add_special_tokens", "add_generation_prompt", "continue_final_message",
            "return_token_strs", "chat_template", "chat_template_kwargs", "mm_processor_kwargs", "tools");
        foreach (var (field, usual) in new[] { ("add_generation_prompt", true), ("continue_final_message", false), ("return_token_strs", false) })
            if (RequestParser.Bool(root, field) is { } given && given != usual)
                throw ApiError.Invalid(field, $"'{field}': {given.ToString().ToLowerInvariant()} is not supported; this server tokenizes as its completions run ({usual.ToString().ToLowerInvariant()}).");
        foreach (string field in new[] { "chat_template", "chat_template_kwargs", "mm_processor_kwargs", "tools" })
            if (root.TryGetProperty(field, out var value) && value.ValueKind != JsonValueKind.Null
                && !(value.ValueKind == JsonValueKind.Array && value.GetArrayLength() == 0) && !(value.ValueKind == JsonValueKind.Object && !value.EnumerateObject().Any()))
                throw ApiError.Invalid(field, $"'{field}' is not supported; this server renders chats with the checkpoint's own template.");
        var prompt = RequestParser.String(root, "prompt");
        bool chat = root.TryGetProperty("messages", out var messages) && messages.ValueKind != JsonValueKind.Null;
        if ((prompt is null) == !chat) throw ApiError.Invalid(chat ? "messages" : "prompt", "Give either 'prompt' or 'messages'.");
        string text = chat ? RequestParser.ChatPrompt(root, options.ChatTemplate) : prompt!;
        int[] ids;
        try
        {
            ids = RequestParser.Bool(root, "add_special_tokens") ?? true ? policy.Encode(text) : policy.Generator.Tokenizer.Encode(text);
        }
        catch (ArgumentException e)
        {
            throw ApiError.Invalid(chat ? "messages" : "prompt", $"The prompt cannot be encoded: {e.Message}.");
        }
        return new JsonObject
        {
            ["count"] = ids.Length, ["max_model_len"] = policy.MaxPositions, ["tokens"] = new JsonArray([.. ids.Select(id => (JsonNode)id)]),
        };
    });

    /// <summary>vLLM's <c>POST /detokenize</c>: the text of <c>tokens</c> (special tokens skipped, as completions are written).</summary>
    public Task DetokenizeAsync(HttpContext http) => AnswerAsync(http, "Detokenizing", async () =>
    {
        using var body = await ReadBodyAsync(http).ConfigureAwait(false);
        var root = Object(body, "model", "tokens");
        if (!root.TryGetProperty("tokens", out var tokens) || tokens.ValueKind == JsonValueKind.Null)
            throw ApiError.Invalid("tokens", "Missing required parameter: 'tokens'.");
        if (tokens.ValueKind != JsonValueKind.Array) throw ApiError.WrongType("tokens", "an array of token ids");
        var tokenizer = policy.Generator.Tokenizer;
        var ids = new List<int>();
        foreach (var t in tokens.EnumerateArray())
        {
            if (t.ValueKind != JsonValueKind.Number || !t.TryGetInt32(out int id)) throw ApiError.WrongType("tokens", "an array of token ids");
            if (id < 0 || tokenizer.Bytes(id) is null) throw ApiError.Invalid("tokens", $"Token id {id} is not in this model's vocabulary ({tokenizer.VocabSize} ids).");
            ids.Add(id);
        }
        return new JsonObject { ["prompt"] = tokenizer.Decode([.. ids]) };
    });

    // Writes what `work` answers with a 200, or its error: an ApiError as it says, any other fault as a 500 naming `what`.
    private static async Task AnswerAsync(HttpContext http, string what, Func<Task<JsonObject>> work)
    {
        try
        {
            var answer = await work().ConfigureAwait(false);
            await WriteJsonAsync(http, 200, answer).ConfigureAwait(false);
        }
        catch (ApiError e) when (!http.Response.HasStarted)
        {
            await WriteErrorAsync(http, e).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException && !http.Response.HasStarted)
        {
            await WriteErrorAsync(http, new ApiError(500, ApiErrorCode.ServerError, $"{what} failed: {e.Message}")).ConfigureAwait(false);
        }
    }

    // The body's object, holding only the fields named (as the completions endpoints, nothing is silently ignored), and a
    // model, if named, that is this server's.
    private JsonElement Object(JsonDocument body, params string[] fields)
    {
        var root = body.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw new ApiError(400, ApiErrorCode.InvalidJson, "The request body must be a JSON object.");
        foreach (var property in root.EnumerateObject())
            if (!fields.Contains(property.Name))
                throw new ApiError(400, ApiErrorCode.UnknownParameter, $"Unrecognized request argument supplied: {property.Name}", property.Name);
        if (RequestParser.String(root, "model") is { } model && model != options.ModelName) throw UnknownModel(model);
        return root;
    }

    public Task NotFoundAsync(HttpContext http)
    {
        string path = http.Request.Path.Value?.TrimEnd('/') ?? "";
        string? allowed = path.StartsWith("/v1/models/", StringComparison.Ordinal) ? "GET"
            : Routes.Where(r => r.Path == path).Select(r => r.Method).FirstOrDefault();
        if (allowed is null)
            return WriteErrorAsync(http, new ApiError(404, ApiErrorCode.NotFound, $"Unknown request: {http.Request.Method} {http.Request.Path}."));
        http.Response.Headers.Allow = allowed;
        return WriteErrorAsync(http, new ApiError(405, ApiErrorCode.MethodNotAllowed, $"{http.Request.Path} takes {allowed}, not {http.Request.Method}."));
    }

    public async Task CompletionsAsync(HttpContext http, bool chat)
    {
        // Work for this request stops when the client goes away or when this handler ends for any reason.
        using var leave = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        try
        {
            ServedRequest request;
            using (var body = await ReadBodyAsync(http).ConfigureAwait(false))
                request = RequestParser.Parse(body.RootElement, chat, options);
            if (request.Model != options.ModelName) throw UnknownModel(request.Model);
            var prompts = Encode(request);
            if (request.Stream) await StreamAsync(http, request, prompts, leave.Token).ConfigureAwait(false);
            else
            {
                var result = await RunAsync(request, prompts, progress: null, leave.Token).ConfigureAwait(false);
                var usage = ApiJson.Usage(result.PromptTokens, result.CompletionTokens, result.ReasoningTokens);
                await WriteJsonAsync(http, 200, ApiJson.Response(chat, NewId(chat), Now(), request.Model, result.Choices, usage)).ConfigureAwait(false);
            }
        }
        catch (ApiError e) when (!http.Response.HasStarted)
        {
            await WriteErrorAsync(http, e).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            // The client went away; its work was skipped or stopped between pieces.
        }
        catch (OperationCanceledException) when (!http.Response.HasStarted)
        {
            await WriteErrorAsync(http, new ApiError(503, ApiErrorCode.ServerError, "The server is shutting down.")).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not (ApiError or OperationCanceledException) && !http.Response.HasStarted)
        {
            await WriteErrorAsync(http, new ApiError(500, ApiErrorCode.ServerError, $"Generation failed: {e.Message}")).ConfigureAwait(false);
        }
        catch (IOException) when (http.Response.HasStarted)
        {
            // The stream broke mid-way (the client closed it); nothing more can be sent.
        }
        catch (OperationCanceledException) when (http.Response.HasStarted)
        {
            // The server is stopping mid-stream; the stream ends here.
        }
        finally
        {
            await leave.CancelAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// One prompt of a request, encoded: its ids, its text when given as text (a search takes it), its sampling options,
    /// and with <c>echo</c> the text its ids decode to (what echo returns, so that its tokens' offsets agree).
    /// </summary>
    private sealed record Encoded(int[] Ids, string? Text, SamplingOptions Sampling, string? Echoed);

    /// <summary>Each prompt's ids with the request's token limit settled against the model's context.</summary>
    private Encoded[] Encode(ServedRequest request)
    {
        string field = request.Chat ? "messages" : "prompt";
        if (request.Sampling.StopTokenIds.FirstOrDefault(id => id >= policy.Generator.Model.Config.VocabSize, -1) is var stopId and >= 0)
            throw ApiError.Invalid("stop_token_ids", $"Token id {stopId} is not in this model's vocabulary ({policy.Generator.Model.Config.VocabSize} ids).");
        var encoded = new Encoded[request.Prompts.Count];
        for (int p = 0; p < encoded.Length; p++)
        {
            var (text, given) = (request.Prompts[p].Text, request.Prompts[p].Ids);
            int[] ids;
            try
            {
                ids = given ?? policy.Encode(text!);
            }
            catch (ArgumentException e)
            {
                throw ApiError.Invalid(field, $"The prompt cannot be encoded: {e.Message}.");
            }
            var (vocabulary, tokenizer) = (policy.Generator.Model.Config.VocabSize, policy.Generator.Tokenizer);
            if (given is not null && given.FirstOrDefault(id => id >= vocabulary || tokenizer.Bytes(id) is null, -1) is var outside and >= 0)
                throw ApiError.Invalid(field, $"Token id {outside} is not in this model's vocabulary ({vocabulary} ids, {tokenizer.VocabSize} in its tokenizer).");
            if (given is not null && request.Effort is not null)
                throw ApiError.Invalid(field, "'reasoning_effort' takes prompts as text: a search encodes the prompt itself.");
            if (ids.Length == 0) throw ApiError.Invalid(field, "The prompt is empty, and this model adds no BOS token to start from.");
            int room = policy.MaxPositions - ids.Length;
            if (request.PromptOnly ? room < 0 : room < 1 || request.Sampling.MaxNewTokens > room)
                throw new ApiError(400, ApiErrorCode.ContextLengthExceeded,
                    $"This model's maximum context length is {policy.MaxPositions} tokens; the prompt{(encoded.Length > 1 ? $" at index {p}" : "")} has {ids.Length}"
                    + (request.Sampling.MaxNewTokens > 0 ? $" and {request.Sampling.MaxNewTokens} more were asked for." : ", which leaves no room for an answer."),
                    field);
            int maxTokens = request.PromptOnly ? 0 : request.Sampling.MaxNewTokens > 0 ? request.Sampling.MaxNewTokens : Math.Min(options.MaxTokens, room);
            // Without a given seed each prompt gets its own stream (index −p: choice j of a prompt mixes in +j).
            long seed = request.SeedGiven || p == 0 ? request.Sampling.Seed : Seeds.Mix(request.Sampling.Seed, -p);
            encoded[p] = new Encoded(ids, text, request.Sampling with { MaxNewTokens = maxTokens, Seed = seed }, request.Echo ? tokenizer.Decode(ids) : null);
        }
        return encoded;
    }

    /// <summary>
    /// Queues the request's generation as one job (429 when the queue is full) and waits for it: plain sampling joins
    /// the decode batch, each prompt as a request of its own; a reasoning_effort search runs beside it. Choices come prompt after
    /// prompt, <c>n</c> each; <paramref name="progress"/> hears choice p·n + j.
    /// </summary>
    private async Task<ServedResult> RunAsync(ServedRequest request, Encoded[] prompts, Action<int, RowProgress>? progress, CancellationToken cancellation)
    {
        var busy = new ApiError(429, ApiErrorCode.QueueFull, $"The server is busy ({options.MaxQueue} requests already waiting); retry later.");
        if (request.Effort is null)
        {
            // With echo and logprobs the prompts are scored first, on the worker, as part of the same job.
            var scored = new IReadOnlyList<ServedToken>?[prompts.Length];
            Action<CancellationToken>? first = request.Echo && request.LogProbs is { } top
                ? token => { for (int p = 0; p < prompts.Length; p++) scored[p] = policy.ScorePrompt(prompts[p].Ids, top, token); }
                : null;
            var generations = await (queue.TryEnqueueSampling(prompts.Select(p => (p.Ids, p.Sampling)).ToArray(), request.N,
                progress is null ? null : (p, row, sofar) => progress(p * request.N + row, sofar), cancellation, request.LogProbs ?? 0, first)
                ?? throw busy).ConfigureAwait(false);
            var logProbsOf = request.LogProbs is null ? null : policy.Generator.Tokenizer;
            var completions = generations.Select(g => LocalPolicy.ToCompletion(g, logProbsOf, request.IncludeStop)).ToArray();
            if (request.Echo) completions = Echo(request, prompts, completions, scored);
            return Counted(new ServedResult(completions, prompts.Sum(p => p.Ids.Length), generations.Sum(g => g.Tokens.Length), 0));
        }
        ServedResult? result = null;
        var done = queue.TryEnqueue(async token => result = await SearchAsync(request, request.Effort.Value, prompts, token).ConfigureAwait(false), cancellation)
            ?? throw busy;
        await done.ConfigureAwait(false);
        return Counted(result!);
    }

    // Adds an answered request's tokens to the /metrics counters.
    private ServedResult Counted(ServedResult result)
    {
        Interlocked.Add(ref _promptTokens, result.PromptTokens);
        Interlocked.Add(ref _generationTokens, result.CompletionTokens);
        Interlocked.Add(ref _reasoningTokens, result.ReasoningTokens);
        return result;
    }

    /// <summary>The completions with their prompts in front (<c>echo</c>), and the prompts' scored tokens before theirs.</summary>
    private static Completion[] Echo(ServedRequest request, Encoded[] prompts, Completion[] completions, IReadOnlyList<ServedToken>?[] scored) =>
        completions.Select((c, index) =>
        {
            int p = index / request.N;
            var echoed = prompts[p].Echoed!;
            var shifted = c.LogProbs?.Select(t => t with { Offset = t.Offset + echoed.Length });
            return c with { Text = echoed + c.Text, LogProbs = shifted is null ? null : [.. scored[p]!, .. shifted] };
        }).ToArray();

    /// <summary>Runs on the search worker, beside the decode batch: one search per choice of each prompt for reasoning_effort.</summary>
    private Task<ServedResult> SearchAsync(ServedRequest request, ReasoningEffort effort, Encoded[] prompts, CancellationToken cancellation)
    {
        var choices = new List<Completion>();
        long completionTokens = 0, reasoningTokens = 0;
        foreach (var prompt in prompts)
            for (int i = 0; i < request.N; i++)
            {
                var seed = i == 0 ? prompt.Sampling.Seed : Seeds.Mix(prompt.Sampling.Seed, i);
                var answer = reasoners[effort].Reason(prompt.Text!, prompt.Ids, prompt.Sampling with { Seed = seed }, cancellation);
                choices.Add(answer.Chosen);
                completionTokens += answer.Spent;
                reasoningTokens += answer.ReasoningTokens;
            }
        return Task.FromResult(new ServedResult(choices, prompts.Sum(p => p.Ids.Length), checked((int)completionTokens), checked((int)reasoningTokens)));
    }

    /// <summary>
    /// Server-sent events: text deltas after each decoded piece (holding back what could be the start of a stop
    /// string; with logprobs, whole tokens and their log-probabilities a delta), or for a search or an echo, keep-alive
    /// comments while it runs and then its answer one step (line) a delta (an echo with logprobs: in one delta);
    /// then each choice's finish, the usage chunk when asked for, and <c>[DONE]</c>.
    /// </summary>
    private async Task StreamAsync(HttpContext http, ServedRequest request, Encoded[] prompts, CancellationToken leave)
    {
        string id = NewId(request.Chat), model = request.Model;
        long created = Now();
        var events = Channel.CreateUnbounded<JsonObject>(new UnboundedChannelOptions { SingleReader = true });
        var sent = new string[prompts.Length * request.N];
        Array.Fill(sent, "");
        var sentTokens = new int[sent.Length];
        int holdBack = request.Sampling.Stop.Count == 0 ? 0 : request.Sampling.Stop.Max(s => s.Length) - 1;
        var tokenizer = policy.Generator.Tokenizer;
        void Progress(int row, RowProgress sofar)
        {
            var text = sofar.Text;
            int safe = text.Length - holdBack;
            while (safe > 0 && text[safe - 1] == '\uFFFD') safe--;       // an incomplete multi-byte character
            if (safe > 0 && char.IsHighSurrogate(text[safe - 1])) safe--; // not half of a character beyond U+FFFF
            if (safe <= sent[row].Length) return;
            List<ServedToken>? tokens = null;
            if (request.LogProbs is not null)                              // whole tokens only, each with the text it makes
            {
                (tokens, safe) = LocalPolicy.WholeTokens(tokenizer, sofar, sentTokens[row], safe);
                if (tokens.Count == 0) return;
                sentTokens[row] += tokens.Count;
            }
            events.Writer.TryWrite(ApiJson.Chunk(request.Chat, id, created, model, row, text[sent[row].Length..safe], role: false, finish: null, tokens));
            sent[row] = text[..safe];
        }

        var run = RunAsync(request, prompts, request.Effort is null && !request.Echo ? Progress : null, leave);
        _ = run.ContinueWith(_ => events.Writer.TryComplete(), TaskScheduler.Default);
        if (run.IsFaulted && run.Exception?.InnerException is ApiError refused) throw refused;   // 429 before any byte is sent
        if (run.IsCanceled && !leave.IsCancellationRequested) throw new OperationCanceledException();   // the queue is stopping: 503

        var response = http.Response;
        response.StatusCode = 200;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        var aborted = leave;
        await response.StartAsync(aborted).ConfigureAwait(false);
        for (int i = 0; i < request.N && request.Chat; i++)
            await SendAsync(response, ApiJson.Chunk(true, id, created, model, i, "", role: true, finish: null), aborted).ConfigureAwait(false);
        await RelayAsync(response, events.Reader, aborted).ConfigureAwait(false);

        ServedResult result;
        try
        {
            result = await run.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!aborted.IsCancellationRequested)
        {
            // The server is stopping under the stream: say so, so a client does not take the text so far as the whole answer.
            await SendAsync(response, new ApiError(503, ApiErrorCode.ServerError, "The server is shutting down.").ToJson(), aborted).ConfigureAwait(false);
            return;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            var error = e as ApiError ?? new ApiError(500, ApiErrorCode.ServerError, $"Generation failed: {e.Message}");
            await SendAsync(response, error.ToJson(), aborted).ConfigureAwait(false);
            return;
        }
        for (int i = 0; i < result.Choices.Count; i++)
        {
            var choice = result.Choices[i];
            string rest = choice.Text.StartsWith(sent[i], StringComparison.Ordinal) ? choice.Text[sent[i].Length..] : "";
            if (choice.LogProbs is { } tokens)                               // the rest at once, with its tokens' log-probabilities
            {
                if (rest.Length > 0 || tokens.Count > sentTokens[i])
                    await SendAsync(response, ApiJson.Chunk(request.Chat, id, created, model, i, rest, role: false, finish: null, tokens.Skip(sentTokens[i]).ToList()),
                        aborted).ConfigureAwait(false);
            }
            else
                foreach (string step in Lines(rest))
                    await SendAsync(response, ApiJson.Chunk(request.Chat, id, created, model, i, step, role: false, finish: null), aborted).ConfigureAwait(false);
            await SendAsync(response, ApiJson.Chunk(request.Chat, id, created, model, i, null, role: false, choice.Finish), aborted).ConfigureAwait(false);
        }
        if (request.IncludeUsage)
            await SendAsync(response, ApiJson.UsageChunk(request.Chat, id, created, model,
                ApiJson.Usage(result.PromptTokens, result.CompletionTokens, result.ReasoningTokens)), aborted).ConfigureAwait(false);
        await response.WriteAsync("data: [DONE]\n\n", aborted).ConfigureAwait(false);
        await response.Body.FlushAsync(aborted).ConfigureAwait(false);
    }

    /// <summary>
    /// Sends the chunks as they come. After <see cref="ServerOptions.KeepAlive"/> with none (a search at work), an SSE
    /// comment, which clients ignore, keeps proxies from closing the stream and finds out a client that has gone.
    /// </summary>
    private async Task RelayAsync(HttpResponse response, ChannelReader<JsonObject> events, CancellationToken cancellation)
    {
        while (true)
        {
            var ready = events.WaitToReadAsync(cancellation).AsTask();
            while (await Task.WhenAny(ready, Task.Delay(options.KeepAlive, cancellation)).ConfigureAwait(false) != ready)
            {
                await response.WriteAsync(": keep-alive\n\n", cancellation).ConfigureAwait(false);
                await response.Body.FlushAsync(cancellation).ConfigureAwait(false);
            }
            if (!await ready.ConfigureAwait(false)) return;
            while (events.TryRead(out var chunk)) await SendAsync(response, chunk, cancellation).ConfigureAwait(false);
        }
    }

    /// <summary>The text cut after each newline: <c>"#1\n#4"</c> → <c>"#1\n"</c>, <c>"#4"</c>.</summary>
    private static IEnumerable<string> Lines(string text)
    {
        for (int start = 0, end; start < text.Length; start = end)
        {
            end = text.IndexOf('\n', start) + 1;
            if (end == 0) end = text.Length;
            yield return text[start..end];
        }
    }

    /// <summary>
    /// The request's JSON body: a declared media type must be JSON (415 otherwise; none is taken as JSON), the bytes
    /// must be UTF-8 (System.Text.Json leaves invalid bytes inside strings to fail later), and a body that cannot be
    /// read (shorter than its Content-Length, arriving too slowly) is the client's error, not the server's.
    /// </summary>
    private async Task<JsonDocument> ReadBodyAsync(HttpContext http)
    {
        if (http.Request.ContentType is { Length: > 0 } type && !IsJson(type))
            throw new ApiError(415, ApiErrorCode.UnsupportedMediaType, $"The request body must be JSON (Content-Type: application/json), not '{type}'.");
        if (http.Request.ContentLength > options.MaxBodyBytes) throw TooLarge();
        byte[] bytes;
        try
        {
            using var buffer = new MemoryStream();
            await http.Request.Body.CopyToAsync(buffer, http.RequestAborted).ConfigureAwait(false);
            bytes = buffer.ToArray();
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw TooLarge();
        }
        catch (BadHttpRequestException e)
        {
            throw new ApiError(e.StatusCode, e.StatusCode == StatusCodes.Status408RequestTimeout ? ApiErrorCode.RequestTimeout : ApiErrorCode.InvalidJson,
                $"The request body could not be read: {e.Message}");
        }
        if (!System.Text.Unicode.Utf8.IsValid(bytes))
            throw new ApiError(400, ApiErrorCode.InvalidJson, "The request body is not valid UTF-8.");
        try
        {
            return JsonDocument.Parse(bytes);
        }
        catch (JsonException e)
        {
            throw new ApiError(400, ApiErrorCode.InvalidJson, $"We could not parse the JSON body of your request: {e.Message}");
        }
    }

    /// <summary>application/json, or any +json type, with or without parameters such as charset.</summary>
    private static bool IsJson(string contentType)
    {
        string media = contentType.Split(';')[0].Trim();
        return media.Equals("application/json", StringComparison.OrdinalIgnoreCase) || media.EndsWith("+json", StringComparison.OrdinalIgnoreCase);
    }

    private ApiError TooLarge() =>
        new(413, ApiErrorCode.RequestTooLarge, $"The request body is larger than {options.MaxBodyBytes} bytes.");

    private ApiError UnknownModel(string? model) =>
        new(404, ApiErrorCode.ModelNotFound, $"The model '{model}' does not exist; this server serves '{options.ModelName}'.", "model");

    private static bool HasKey(string header, string key)
    {
        const string Bearer = "Bearer ";
        if (!header.StartsWith(Bearer, StringComparison.OrdinalIgnoreCase)) return false;
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header[Bearer.Length..].Trim()), Encoding.UTF8.GetBytes(key));
    }

    private static async Task SendAsync(HttpResponse response, JsonObject chunk, CancellationToken cancellation)
    {
        await response.WriteAsync("data: " + chunk.ToJsonString(JsonText.Compact) + "\n\n", cancellation).ConfigureAwait(false);
        await response.Body.FlushAsync(cancellation).ConfigureAwait(false);
    }

    private static Task WriteErrorAsync(HttpContext http, ApiError error) => WriteJsonAsync(http, error.Status, error.ToJson());

    private static Task WriteJsonAsync(HttpContext http, int status, JsonObject body)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        return http.Response.WriteAsync(body.ToJsonString(JsonText.Compact), http.RequestAborted);
    }

    private static string NewId(bool chat) => (chat ? "chatcmpl-" : "cmpl-") + Guid.NewGuid().ToString("N");

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();
}
