namespace Ponder.Thinking;

/// <summary>One budget-controlled completion.</summary>
/// <param name="Completion">The text after the prompt: <c>&lt;think&gt;</c>, the thinking, <c>&lt;/think&gt;</c>, the answer.</param>
/// <param name="ThinkingTokens">Tokens inside the thinking section (never more than the cap).</param>
/// <param name="AnswerTokens">Tokens generated after the section (EOS included).</param>
/// <param name="Forcings">Cues inserted in place of an early close.</param>
/// <param name="Capped">The controller closed the section at the cap.</param>
/// <param name="Closed">The section was closed (by the policy or at the cap); false when the policy ended without closing it.</param>
public sealed record ThoughtGeneration(string Completion, int ThinkingTokens, int AnswerTokens, int Forcings, bool Capped, bool Closed);
