using System.Net;
using System.Runtime.InteropServices;
using Ponder.Policy;
using Ponder.Rewards;
using Ponder.Serving;

namespace Ponder.Cli;

/// <summary><c>ponder serve</c>: an OpenAI-compatible endpoint over a checkpoint, until Ctrl+C.</summary>
public static class ServeCommand
{
    public const string ApiKeyVariable = "PONDER_API_KEY";

    public const string Usage = """
        ponder serve --checkpoint C [--host 127.0.0.1] [--port 8080] [--api-key K] [--model-name NAME] [--device cpu|cuda]
                     [--max-queue 16] [--max-batch 64] [--max-n 16] [--max-tokens 1024] [--max-body-bytes 1048576]
                     [--effort-low sample:1@0] [--effort-medium vote:8@1] [--effort-high vote:32@1]
                     [--prm C] [--prm-aggregation min|last|product|mean]
          serves GET /v1/models, POST /v1/chat/completions and POST /v1/completions (stream, n, temperature, top_p,
          max_tokens, stop, seed); the model id defaults to the checkpoint folder's name. Binds loopback unless --host
          says otherwise; with --api-key (or PONDER_API_KEY) requests need 'Authorization: Bearer K'.
          One request runs at a time; --max-queue more wait, beyond that 429. --max-batch caps rows per decode batch.
          reasoning_effort low|medium|high runs the --effort-* plan STRATEGY[:SAMPLES][@TEMPERATURE]
          (sample, vote: majority over the final answers, prm-vote: votes weighted by the PRM's aggregated step
          scores); the request's temperature overrides the plan's. With --prm, high defaults to prm-vote:32@1.
        """;

    /// <summary>Serves until Ctrl+C (SIGINT) or SIGTERM.</summary>
    public static int Run(string[] args)
    {
        using var stop = new CancellationTokenSource();
        void Stop(PosixSignalContext signal)
        {
            signal.Cancel = true;
            stop.Cancel();
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
        var aggregation = Aggregation(o.String("prm-aggregation", "min")!);
        var effort = prmDir is null ? new EffortSettings() : EffortSettings.WithPrm;
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
            Effort = new EffortSettings
            {
                Low = Plan(o, "effort-low", effort.Low),
                Medium = Plan(o, "effort-medium", effort.Medium),
                High = Plan(o, "effort-high", effort.High),
            },
        };
        int maxBatch = o.Int("max-batch", 64, 1, 4096);
        string deviceName = o.String("device", "cpu")!;
        o.Done();
        if (prmDir is null && new[] { options.Effort.Low, options.Effort.Medium, options.Effort.High }.Any(p => p.Strategy == ReasoningStrategy.PrmVote))
            throw new UsageException("serve: a prm-vote effort plan needs a process reward model (--prm C)");

        var device = TorchRuntime.Initialize(deviceName);
        var loaded = LoadedPolicy.Load(dir, device);
        if (prmDir is not null)
        {
            var prm = LoadedRewardModel.Load(prmDir, device);
            if (prm.Kind != RewardModelKind.Prm) throw new UsageException($"serve: --prm '{prmDir}' is an {LoadedRewardModel.KindName(prm.Kind)}, not a prm");
            prm.RequireSameVocabulary(loaded.Tokenizer, dir);
            options = options with { Prm = prm.Scorer(aggregation), PrmAggregation = aggregation };
        }
        var policy = new LocalPolicy(new Policy.Generator(loaded.Model, loaded.Tokenizer), maxBatch);
        await using var server = await PonderServer.StartAsync(policy, options, stop).ConfigureAwait(false);
        output.WriteLine($"ponder serve: model '{options.ModelName}' ({loaded.Model.ParameterCount:N0} parameters, {loaded.Model.Config.MaxPositions} positions) at {server.BaseAddress}");
        output.WriteLine($"  reasoning_effort: low = {options.Effort.Low}, medium = {options.Effort.Medium}, high = {options.Effort.High}; api key: {(options.ApiKey is null ? "none" : "required")}; Ctrl+C stops");
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

    private static EffortPlan Plan(Options o, string name, EffortPlan fallback)
    {
        string? text = o.String(name);
        if (text is null) return fallback;
        try
        {
            return EffortPlan.Parse(text);
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
