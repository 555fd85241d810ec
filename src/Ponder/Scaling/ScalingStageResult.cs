using System.Text.Json.Nodes;

namespace Ponder.Scaling;

/// <summary>What the scaling stage gives the demo: summary keys, a report section, its PNGs, and the whole run.</summary>
/// <param name="Summary">Keys for <c>summary.json</c>: per strategy the fitted exponent, R² and efficiency vs best-of-N majority, and the two checks.</param>
/// <param name="Markdown">A <c>## Inference scaling</c> section; its PNG links are file names in the output folder.</param>
public sealed record ScalingStageResult(JsonObject Summary, string Markdown, IReadOnlyList<string> Pngs, ScalingRun Run);
