using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Ponder.Policy;
using Ponder.Search;
using Ponder.Serving;
using Ponder.Tasks;

namespace Ponder.Tests.Serving;

/// <summary>
/// Two real servers on loopback shared by a test class: the tiny bigram policy and its endless variant (no EOS),
/// plus an independent copy of each policy loaded from the same checkpoint for local reference computations.
/// </summary>
public sealed class ServerFixture : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();

    internal PonderServer Server { get; private set; } = null!;
    internal PonderServer Endless { get; private set; } = null!;
    internal LocalPolicy Local { get; private set; } = null!;
    internal LocalPolicy LocalEndless { get; private set; } = null!;
    internal HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>The problem prompt exactly as the chat template renders it.</summary>
    public static string Prompt => TinyServedModel.Problem + "\n";

    public async Task InitializeAsync()
    {
        string checkpoint = TinyServedModel.Save(_dir), endless = TinyServedModel.Save(_dir, maxPositions: 160, endless: true);
        Local = TinyServedModel.Load(checkpoint);
        LocalEndless = TinyServedModel.Load(endless);
        Server = await TinyServedModel.Serve(TinyServedModel.Load(checkpoint));
        Endless = await TinyServedModel.Serve(TinyServedModel.Load(endless));
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
        await Endless.DisposeAsync();
        _dir.Dispose();
    }

    /// <summary>What the local copy generates for the problem: the server's answer must be the same.</summary>
    internal IReadOnlyList<Completion> Reference(int n, SamplingOptions options, bool endless = false, int? logProbs = null)
    {
        var policy = endless ? LocalEndless : Local;
        return policy.Generate(policy.Encode(Prompt), n, options, topLogProbs: logProbs ?? 0)
            .Select(g => LocalPolicy.ToCompletion(g, logProbs is null ? null : policy.Generator.Tokenizer)).ToArray();
    }

    /// <summary>What the server's search for an effort plan must return: the strategy run directly on the local copy.</summary>
    internal SearchResult Search(string plan, long seed, int maxTokens, bool endless = false)
    {
        var p = EffortPlan.Parse(plan);
        var limits = new ServerOptions().StepLimits with { MaxNewTokens = maxTokens, MaxStepTokens = Math.Min(128, maxTokens) };
        var context = new SearchContext(new GeneratorPolicy((endless ? LocalEndless : Local).Generator, limits), (_, text) => Answers.Read(text)) { Seed = seed };
        return Strategies.Create(p.Strategy, p.Settings).Solve(new Problem("served", Prompt, ""), context, p.Budget);
    }

    internal static Task<(HttpStatusCode Status, JsonNode? Body)> PostAsync(HttpClient http, PonderServer server, string path, string json,
        string? apiKey = null) => SendAsync(http, server, HttpMethod.Post, path, json, apiKey);

    internal static async Task<(HttpStatusCode Status, JsonNode? Body)> SendAsync(HttpClient http, PonderServer server, HttpMethod method,
        string path, string? json, string? apiKey = null)
    {
        using var request = new HttpRequestMessage(method, new Uri(server.BaseAddress, path));
        if (json is not null) request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        if (apiKey is not null) request.Headers.Authorization = new("Bearer", apiKey);
        using var response = await http.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    /// <summary>A chat request body for the problem with extra fields spliced in (e.g. <c>"n": 3</c>).</summary>
    internal static string Chat(string extra = "", string model = "tiny") =>
        $$"""{"model": "{{model}}", "messages": [{"role": "user", "content": "{{TinyServedModel.Problem}}"}]{{(extra.Length > 0 ? ", " + extra : "")}}}""";
}
