using System.Globalization;
using Ponder.Policy;
using Ponder.Tasks;

namespace Ponder.Thinking;

/// <summary>
/// How many thinking tokens a budget really allows on a set of problems (<see cref="BudgetedThinker.Cap"/>): a budget as
/// large as the context is still capped by the room the context leaves after the prompt and before the answer.
/// </summary>
/// <param name="Min">The smallest cap over the problems.</param>
/// <param name="Max">The largest cap over the problems (prompts differ in length).</param>
/// <param name="ByContext">The context's room, not the budget, sets the cap on at least one problem.</param>
internal sealed record ThinkingRoom(int Min, int Max, bool ByContext)
{
    /// <summary>The caps of <paramref name="budget"/> on <paramref name="problems"/> in a context of <paramref name="context"/> positions.</summary>
    public static ThinkingRoom Of(ITokenizer tokenizer, int context, IReadOnlyList<Problem> problems, ThinkingBudget budget)
    {
        ArgumentNullException.ThrowIfNull(problems);
        ArgumentNullException.ThrowIfNull(budget);
        if (problems.Count == 0) throw new ArgumentException("no problems to measure the room on", nameof(problems));
        var caps = problems.Select(p => BudgetedThinker.Cap(tokenizer, context, p.Prompt, budget)).ToList();
        return new ThinkingRoom(caps.Min(), caps.Max(), caps.Min() < budget.MaxThinkingTokens);
    }

    /// <summary>
    /// For the report: <c>thinking up to the context's room (351 tokens)</c> (a range where prompts differ), or
    /// <c>thinking capped at 256 tokens</c> where the budget is the smaller.
    /// </summary>
    public string Describe()
    {
        string tokens = Min == Max ? Min.ToString(CultureInfo.InvariantCulture) : string.Create(CultureInfo.InvariantCulture, $"{Min}–{Max}");
        return ByContext ? $"thinking up to the context's room ({tokens} tokens)" : $"thinking capped at {tokens} tokens";
    }
}
