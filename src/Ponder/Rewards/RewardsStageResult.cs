using System.Text.Json.Nodes;

namespace Ponder.Rewards;

/// <summary>What the demo's reward stage hands back: flat figures for <c>summary.json</c> and a report section.</summary>
/// <param name="Figures">Keys such as <c>prm_step_auc</c>, <c>bo16_prm</c>, <c>maj16</c>, <c>label_tokens</c> (see <see cref="RewardsStage"/>).</param>
/// <param name="Markdown">A "## Reward models" section whose image links are relative to the stage's output folder.</param>
public sealed record RewardsStageResult(JsonObject Figures, string Markdown);
