using System.Net;
using System.Runtime.InteropServices;
using Ponder.Policy;
using Ponder.Rewards;
using Ponder.Search;
using Ponder.Serving;

namespace Ponder.Cli;

/// <summary><c>ponder serve</c>: an OpenAI-compatible endpoint over a checkpoint, until Ctrl+C.</summary>
public static class ServeCommand
{
    public const string ApiKeyVariable = "PONDER_API_KEY";

    public const string Usage = """
        ponder serve --checkpoint C [--host 127.0.0.1] [--port 8080] [--api-key K] [--model-name NAME] [--device cpu|cuda]
                     [--max-queue 16] [--max-batch 64] [--prefill-chunk 512] [--prefix-cache 8] [--prefix-cache-mb 1024] [--max-n 16] [--max-tokens 1024] [--max-body-bytes 1048576]
                     [--effort-low greedy] [--effort-medium best-of-n:8@1] [--effort-high best-of-n:32@1]
                     [--prm C] [--prm-aggregation last|min|product|mean] [--reviser C] [--compute-plan runs/scale/scaling.csv]
                     [--max-steps 32] [--max-step-tokens 128] [--keep-alive-seconds 15] [--kv-cache f32|bf16]
          serves GET /v1/models, POST /v1/chat/completions and POST /v1/completions (stream, n, temperature, top_p,
          top_k, max_tokens, stop, seed, logprobs/top_logprobs; vLLM's ignore_eos, stop_token_ids and include_stop_str_in_output);
          and, as vLLM, GET /health, GET /metrics (Prometheus), POST /tokenize and POST /detokenize;
          the model id defaults to the checkpoint folder's name. Binds loopback unless --host says otherwise; with --api-key
          (or PONDER_API_KEY) /v1 requests need 'Authorization: Bearer K'; any origin may call (CORS). --max-tokens is the
          max_tokens of a request that gives none; a request may ask for up to the context's room.
          Requests without reasoning_effort share one decode batch (continuous batching: they join and leave it between
          decode steps) of up to --max-batch rows; a prompt longer than --prefill-chunk tokens is prefilled that many
          a step while the batch decodes (0: every prompt at once); the keys of the last --prefix-cache prompts are kept
          (at most --prefix-cache-mb megabytes of them), and a prompt that starts with one of them (16 tokens or more)
          prefills only the rest (0: none kept);
          reasoning_effort searches run one at a time beside it, taking turns at the model a step at a time;
          --max-queue more requests (and as many searches) wait, beyond that 429.
          Chat messages are rendered with the checkpoint's chat template (tokenizer_config.json: Llama 3, ChatML, Llama 2).
          reasoning_effort low|medium|high runs the --effort-* search plan STRATEGY[:BUDGET][@TEMPERATURE][,KEY=VALUE...]:
          greedy, best-of-n, beam, dvts, mcts, revision (needs --reviser), compute-optimal (needs --compute-plan, the
          validation rows of a 'ponder scale' run, and a tokens or FLOPs budget); budget N (16), tokens (4096tok) or FLOPs
          (2e9flops); keys selector, aggregation, expansions, lookahead, puct, sims, leaf, final, rounds, e.g.
          beam:16,expansions=4 or best-of-n:32@0.8,selector=prm-vote. With --prm, high defaults to beam:16@1 (PRM-guided,
          --prm-aggregation of step scores, default last). usage.completion_tokens_details.reasoning_tokens counts every
          token the search spent (policy and reward model) beyond the returned answer's. A streamed search sends an SSE
          comment every --keep-alive-seconds while it runs, then its answer a line a chunk; a client that leaves stops it.
        """;

    /// <summary>Serves until Ctrl+C (SIGINT) or SIGTERM.</summary>
    public static int Run(string[] args)
    {
        using var stop = new CancellationTokenSource();
        void Stop(PosixSignalContext signal)
        {
            signal.Cancel = true;
            try
            {
                stop.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // A second signal that arrives while the server is already gone.
            }
        }
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        return RunAsync(args, Console.Out, stop.Token).GetAwaiter().GetResult();
    }

    /// <summary>Serves until <paramref name="stop"/> fires; prints the endpoint to <paramref name="output"/>.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, CancellationToken stop)
    {
        var o = new Options("serve", args);
        string dir = o.Required("checkpoint");
        var defaults = new ServerOptions();
        string? prmDir = o.String("prm");
        string? aggregationName = o.String("prm-aggregation");
        if (aggregationName is not null && prmDir is null) throw new UsageException("serve: --prm-aggregation needs --prm");
        var aggregation = Aggregation(aggregationName ?? "last");
        var effort = prmDir is null ? new EffortSettings() : EffortSettings.ForPrm(aggregation);
        var planDefaults = new SearchSettings { Aggregation = aggregation };
        string? reviserDir = o.String("reviser");
        string? computePlan = o.String("compute-plan");
        var stepDefaults = defaults.StepLimits;
        var options = new ServerOptions
        {
            Host = o.String("host", defaults.Host)!,
            Port = o.Int("port", defaults.Port, 0, 65535),
            ApiKey = o.String("api-key") ?? NonEmpty(Environment.GetEnvironmentVariable(ApiKeyVariable)),
            ModelName = o.String("model-name") ?? Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir))),
            MaxQueue = o.Int("max-queue", defaults.MaxQueue, 1, 100_000),
            MaxN = o.Int("max-n", defaults.MaxN, 1, 1024),
            MaxTokens = o.Int("max-tokens", defaults.MaxTokens, 1, 1 << 20),
            MaxBodyBytes = o.Int("max-body-bytes", (int)defaults.MaxBodyBytes, 1024, int.MaxValue),
            KeepAlive = TimeSpan.FromSeconds(o.Int("keep-alive-seconds", (int)defaults.KeepAlive.TotalSeconds, 1, 3600)),
            Effort = new EffortSettings
            {
                Low = Plan(o, "effort-low", effort.Low, planDefaults),
                Medium = Plan(o, "effort-medium", effort.Medium, planDefaults),
                High = Plan(o, "effort-high", effort.High, planDefaults),
            },
            StepLimits = stepDefaults with
            {
                MaxSteps = o.Int("max-steps", stepDefaults.MaxSteps, 1, 4096),
                MaxStepTokens = o.Int("max-step-tokens", stepDefaults.MaxStepTokens, 1, 1 << 16),
            },
        };
        int maxBatch = o.Int("max-batch", 64, 1, 4096);
        int prefillChunk = o.Int("prefill-chunk", LocalPolicy.DefaultPrefillChunk, 0, 1 << 20);
        int prefixCache = o.Int("prefix-cache", LocalPolicy.DefaultPrefixCache, 0, 64);
        long prefixCacheBytes = (long)o.Int("prefix-cache-mb", (int)(LocalPolicy.DefaultPrefixCacheBytes >> 20), 0, 1 << 20) << 20;
        string deviceName = o.String("device", "cpu")!;
        var kvCache = o.KvCache();
        o.Done();
        // A reviser or compute plan no effort plan can reach would be loaded and never used.
        var kinds = options.Effort.All.Select(e => e.Plan.Strategy).ToHashSet();
        if (computePlan is not null && !kinds.Contains(StrategyKind.ComputeOptimal))
            throw new UsageException("serve: --compute-plan is read by a compute-optimal effort plan only; no --effort-* plan is compute-optimal");
        if (reviserDir is not null && !kinds.Contains(StrategyKind.Revision) && !kinds.Contains(StrategyKind.ComputeOptimal))
            throw new UsageException("serve: --reviser is read by a revision (or compute-optimal) effort plan only; no --effort-* plan uses it");
        if (computePlan is not null)
        {
            try
            {
                options = options with { ComputePlan = ComputePlanFile.Read(computePlan) };
            }
            catch (InvalidDataException e)
            {
                throw new UsageException($"serve: --compute-plan {e.Message}");
            }
        }

        var device = TorchRuntime.Initialize(deviceName);
        var loaded = LoadedPolicy.Load(dir, device);
        loaded.Model.KvCacheType = kvCache;
        if (prmDir is not null)
        {
            var prm = LoadedRewardModel.Load(prmDir, device);
            if (prm.Kind != RewardModelKind.Prm) throw new UsageException($"serve: --prm '{prmDir}' is an {LoadedRewardModel.KindName(prm.Kind)}, not a prm");
            prm.RequireSameVocabulary(loaded.Tokenizer, dir);
            options = options with { Prm = prm.Scorer(aggregation) };
        }
        if (reviserDir is not null)
        {
            var reviser = LoadedPolicy.LoadReviser(reviserDir, device);
            if (reviser.Tokenizer.ToJson() != loaded.Tokenizer.ToJson())
                throw new UsageException($"serve: --reviser '{reviserDir}' has another tokenizer than the policy '{dir}'");
            options = options with { Reviser = new Policy.Generator(reviser.Model, reviser.Tokenizer) };
        }
        var (template, templateNote) = HfChatTemplate.For(loaded.Tokenizer);
        options = options with { ChatTemplate = template };
        var policy = new LocalPolicy(new Policy.Generator(loaded.Model, loaded.Tokenizer), maxBatch, prefillChunk: prefillChunk, prefixCache: prefixCache, prefixCacheBytes: prefixCacheBytes);
        PonderServer server;
        try
        {
            server = await PonderServer.StartAsync(policy, options, stop).ConfigureAwait(false);
        }
        catch (ArgumentException e) when (e.Message.StartsWith("effort plan", StringComparison.Ordinal))
        {
            string hint = e.Message.Contains("process reward", StringComparison.Ordinal) && options.Prm is null ? " (give one with --prm C)"
                : e.Message.Contains("reviser", StringComparison.Ordinal) && options.Reviser is null ? " (give one with --reviser C)"
                : e.Message.Contains("compute-optimal plan", StringComparison.Ordinal) ? " (give one with --compute-plan scaling.csv)"
                : "";
            throw new UsageException($"serve: {e.Message}{hint}");
        }
        await using var running = server;
        output.WriteLine($"ponder serve: model '{options.ModelName}' ({loaded.Model.ParameterCount:N0} parameters, {loaded.Model.Config.MaxPositions} positions) at {server.BaseAddress}");
        output.WriteLine($"  {templateNote}");
        foreach (var (level, plan) in options.Effort.All.Where(e => e.Plan.Strategy == StrategyKind.ComputeOptimal))
            output.WriteLine($"  {level.ToString().ToLowerInvariant()} effort {plan}: {server.Efforts[level]}, chosen on the plan's validation rows");
        output.WriteLine($"  reasoning_effort: {options.Effort}; api key: {(options.ApiKey is null ? "none" : "required")}; Ctrl+C stops");
        bool loopback = options.Host == "localhost" || (IPAddress.TryParse(options.Host, out var ip) && IPAddress.IsLoopback(ip));
        if (!loopback && options.ApiKey is null)
            output.WriteLine($"  warning: listening on {options.Host}, beyond this machine, without an API key");
        output.Flush();
        try
        {
            await server.WaitForShutdownAsync(stop).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        return 0;
    }

    private static EffortPlan Plan(Options o, string name, EffortPlan fallback, SearchSettings defaults)
    {
        string? text = o.String(name);
        if (text is null) return fallback;
        try
        {
            return EffortPlan.Parse(text, defaults);
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"serve: --{name}: {e.Message}");
        }
    }

    private static Aggregation Aggregation(string name) => name switch
    {
        "min" => Rewards.Aggregation.Min,
        "last" => Rewards.Aggregation.Last,
        "product" => Rewards.Aggregation.Product,
        "mean" => Rewards.Aggregation.Mean,
        _ => throw new UsageException($"serve: --prm-aggregation must be min, last, product or mean, got '{name}'"),
    };

    private static string? NonEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
