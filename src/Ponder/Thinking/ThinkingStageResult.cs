using System.Text.Json.Nodes;

namespace Ponder.Thinking;

/// <summary>What the thinking stage hands to <c>ponder demo</c>: summary keys (all prefixed <c>think_</c>), a Markdown section, and the PNGs it wrote.</summary>
public sealed record ThinkingStageResult(JsonObject Summary, string Markdown, IReadOnlyList<string> Figures);
