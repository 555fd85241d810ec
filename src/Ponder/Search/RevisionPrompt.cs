using Ponder.Tasks;

namespace Ponder.Search;

/// <summary>
/// The prompt a reviser sees: the problem, its previous attempt, then a <c>revise:</c> line; the reviser writes a
/// whole new solution after it. Example: <c>3 +4 *2\n3+4=8\n8*2=16\n#16\nrevise:\n</c> → <c>3+4=7\n7*2=14\n#14</c>.
/// </summary>
public static class RevisionPrompt
{
    public const string Marker = "revise:";

    /// <summary>The problem with the revision prompt in place of its own (same id and reference answer).</summary>
    public static Problem Build(Problem problem, string attempt)
    {
        ArgumentNullException.ThrowIfNull(problem);
        ArgumentNullException.ThrowIfNull(attempt);
        string lines = Solution.Join(Solution.Lines(attempt));
        return problem with { Prompt = problem.Prompt + (lines.Length > 0 ? lines + "\n" : "") + Marker + "\n" };
    }
}
