using Microsoft.Extensions.Hosting;

namespace Ponder.Serving;

/// <summary>
/// The server's host lifetime inside a library: it takes no console signals (Ctrl+C belongs to the application
/// that embeds the server; <c>ponder serve</c> handles it itself) and stops only when disposed.
/// </summary>
internal sealed class EmbeddedLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
