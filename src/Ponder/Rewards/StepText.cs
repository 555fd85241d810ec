using Ponder.Policy;
using Ponder.Tasks;

namespace Ponder.Rewards;

/// <summary>
/// The text a reward model reads and where it reads it. A solution is scored as
/// <c>BOS + prompt + step₀ + "\n" + step₁ + "\n" + … + stepₙ₋₁ + "\n"</c>: every step, the final-answer line
/// included, is followed by a newline, and the score of steps 0..j is read at the newline token that ends
/// step j. That token has seen the whole step and the sign that it is finished, and nothing after it (attention
/// is causal), so one forward pass scores every prefix. An ORM reads the last of these positions.
/// </summary>
/// <remarks>
/// The prompt, each step and each newline are encoded separately, so the step end is exactly one newline token
/// even for subword tokenizers. Example (char tokenizer): prompt <c>"3 +4\n"</c>, steps <c>["3+4=7", "#7"]</c> →
/// tokens <c>&lt;s&gt; 3 ␠ + 4 \n 3 + 4 = 7 \n # 7 \n</c>, step ends at indices 11 and 14.
/// </remarks>
public static class StepText
{
    /// <summary>
    /// Steps of a completion: its non-empty lines up to and including the first final-answer line
    /// (<see cref="IsFinal"/>); later lines are ignored, as the verifier ignores them. At most
    /// <paramref name="maxSteps"/> lines are kept.
    /// </summary>
    public static IReadOnlyList<string> Steps(string completion, int maxSteps = 16)
    {
        var steps = new List<string>();
        foreach (var line in Solution.Lines(completion))
        {
            if (steps.Count == maxSteps) break;
            steps.Add(line);
            if (IsFinal(line)) break;
        }
        return steps;
    }

    /// <summary>
    /// True for a final-answer line: one starting with '#' (<c>#42</c>, GSM8K's <c>#### 42</c>) that is not a Markdown
    /// heading (hashes, a space, then a letter: <c>## Step 1</c>), which chat models write between their steps. (The
    /// built-in tasks' verifiers read their own strict format, where every '#' line is the answer; their policies write
    /// no headings.)
    /// </summary>
    public static bool IsFinal(string step)
    {
        if (!step.StartsWith('#')) return false;
        string rest = step.TrimStart('#');
        return !(rest.StartsWith(' ') && rest.TrimStart(' ') is { Length: > 0 } text && char.IsLetter(text[0]));
    }

    /// <summary>The completion text of a step prefix as the policy would have written it: steps joined, ending in a newline.</summary>
    public static string Prefix(IReadOnlyList<string> steps, int count) =>
        count == 0 ? "" : Solution.Join(steps.Take(count).ToList()) + "\n";

    /// <summary>
    /// Token ids of the scored text, the index of the newline token that ends each step, and the index of the
    /// first token after the prompt (where the solution starts).
    /// </summary>
    public static (int[] Ids, int[] StepEnds, int Start) Encode(ITokenizer tokenizer, string prompt, IReadOnlyList<string> steps)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(steps);
        var ids = new List<int>(Prompting.Encode(tokenizer, prompt));
        int start = ids.Count;
        int[] newline = tokenizer.Encode("\n");
        var ends = new int[steps.Count];
        for (int j = 0; j < steps.Count; j++)
        {
            ids.AddRange(tokenizer.Encode(steps[j]));
            ids.AddRange(newline);
            ends[j] = ids.Count - 1;
        }
        return ([.. ids], ends, start);
    }
}
