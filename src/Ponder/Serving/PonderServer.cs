using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Ponder.Policy;

namespace Ponder.Serving;

/// <summary>
/// An OpenAI-compatible HTTP endpoint over a Ponder policy: <c>GET /v1/models</c>, <c>POST /v1/chat/completions</c>,
/// <c>POST /v1/completions</c>, streaming included, with <c>reasoning_effort</c> mapped to a search strategy
/// (<see cref="EffortSettings"/>). Plain sampling requests share decode batches (continuous batching, up to the
/// policy's <see cref="LocalPolicy.MaxBatch"/> rows); searches run one at a time beside the batch, the two taking turns
/// at the model a step at a time (<see cref="ModelTurns"/>); others wait in a bounded queue.
/// Dispose to stop it.
/// </summary>
public sealed class PonderServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private bool _disposed;

    private PonderServer(WebApplication app, WorkQueue queue, ServerOptions options, Uri baseAddress, IReadOnlyDictionary<ReasoningEffort, string> efforts)
    {
        (_app, Queue, Options, BaseAddress, Efforts) = (app, queue, options, baseAddress, efforts);
    }

    /// <summary>What each reasoning_effort runs, e.g. <c>beam M=4 prm-max(last)</c> or <c>compute-optimal → beam N=8</c>.</summary>
    public IReadOnlyDictionary<ReasoningEffort, string> Efforts { get; }

    /// <summary>Root of the API, e.g. <c>http://127.0.0.1:8080/v1/</c>: what OpenAI clients take as their endpoint.</summary>
    public Uri BaseAddress { get; }

    public ServerOptions Options { get; }

    internal WorkQueue Queue { get; }

    /// <summary>Binds <see cref="ServerOptions.Host"/> (an IP address or <c>localhost</c>) and starts serving <paramref name="policy"/>.</summary>
    public static async Task<PonderServer> StartAsync(LocalPolicy policy, ServerOptions options, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        // The decode batch and the searches beside it each get a generator of their own, taking turns at the model
        // (the reviser's steps take the same turns, so a revision shares the cores as fairly).
        var turns = new ModelTurns();
        var served = policy.Taking(turns);
        var reasoners = Endpoints.Reasoners(policy.Generator.Taking(turns), options.Reviser?.Taking(turns), options);
        var address = options.Host == "localhost" ? IPAddress.Loopback
            : IPAddress.TryParse(options.Host, out var ip) ? ip
            : throw new ArgumentException($"host '{options.Host}' must be an IP address or 'localhost'");

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<IHostLifetime, EmbeddedLifetime>();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = options.MaxBodyBytes;
            kestrel.Listen(address, options.Port);
        });
        var app = builder.Build();

        var queue = new WorkQueue(options.MaxQueue, served.NewDecoder(), options.SearchesBeside);
        var endpoints = new Endpoints(served, options, queue, reasoners);
        app.Use(endpoints.AuthenticateAsync);
        app.MapGet("/v1/models", (RequestDelegate)endpoints.ModelsAsync);
        app.MapGet("/v1/models/{**id}", (RequestDelegate)endpoints.ModelAsync);   // ids may hold '/' (Qwen/Qwen2.5-0.5B-Instruct)
        app.MapPost("/v1/chat/completions", (RequestDelegate)(http => endpoints.CompletionsAsync(http, chat: true)));
        app.MapPost("/v1/completions", (RequestDelegate)(http => endpoints.CompletionsAsync(http, chat: false)));
        app.MapGet("/health", (RequestDelegate)endpoints.HealthAsync);
        app.MapGet("/metrics", (RequestDelegate)endpoints.MetricsAsync);
        app.MapPost("/tokenize", (RequestDelegate)endpoints.TokenizeAsync);
        app.MapPost("/detokenize", (RequestDelegate)endpoints.DetokenizeAsync);
        app.MapFallback((RequestDelegate)endpoints.NotFoundAsync);

        try
        {
            await app.StartAsync(cancellation).ConfigureAwait(false);
        }
        catch
        {
            await queue.DisposeAsync().ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        string bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new PonderServer(app, queue, options, new Uri(bound.TrimEnd('/') + "/v1/"), reasoners.ToDictionary(r => r.Key, r => r.Value.Description));
    }

    /// <summary>Completes when <paramref name="cancellation"/> fires or the server is disposed.</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellation = default) => _app.WaitForShutdownAsync(cancellation);

    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        await Queue.DisposeAsync().ConfigureAwait(false);           // stops the running job first, so requests end at once (503)
        await _app.StopAsync(CancellationToken.None).ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
