using Ponder.Policy;
using Ponder.Rewards;
using Ponder.Tasks;
using static TorchSharp.torch;

namespace Ponder.Learning;

/// <summary>
/// Process rewards in RL: a PRM's step scores placed on the token that ends each step.
/// <list type="bullet">
/// <item>Group algorithms (GRPO, RLOO, REINFORCE) get step-level advantages as in DeepSeekMath's process
/// supervision: step scores are normalized over all steps of the prompt's group,
/// r̃ = (s − mean) / std, and a token's advantage is the sum of r̃ over the steps that end at or after it.</item>
/// <item>PPO gets dense token rewards: s_j − s_{j−1} on the last token of step j (s_{−1} = 0), a
/// potential-based shaping whose sum along a solution is its last step's score, so more steps earn nothing.</item>
/// </list>
/// </summary>
public static class ProcessAdvantages
{
    /// <summary>Per row: (action position of each step's last token, the PRM score of that step prefix).</summary>
    public static IReadOnlyList<IReadOnlyList<(int Position, double Score)>> StepScores(IProcessReward prm, ITokenizer tokenizer,
        IReadOnlyList<Problem> problems, IReadOnlyList<Generation> generations)
    {
        var steps = generations.Select(g => StepText.Steps(g.Text, int.MaxValue)).ToList();   // lines past the answer earn no step score
        var scores = prm.ScoreSteps(problems, steps);
        var result = new List<IReadOnlyList<(int, double)>>(problems.Count);
        for (int i = 0; i < problems.Count; i++)
        {
            int promptLength = Prompting.Encode(tokenizer, problems[i].Prompt).Length;
            var ends = StepEndTokens(tokenizer, generations[i].Tokens, generations[i].Text);
            int count = Math.Min(ends.Count, scores[i].Count);
            result.Add(Enumerable.Range(0, count).Select(j => (promptLength - 1 + ends[j], scores[i][j])).ToList());
        }
        return result;
    }

    /// <summary>Index (within the completion) of the token that completes each non-empty line of <paramref name="text"/>.</summary>
    public static IReadOnlyList<int> StepEndTokens(ITokenizer tokenizer, int[] tokens, string text)
    {
        var lineEnds = new List<int>();                          // exclusive end offsets of non-empty lines
        int start = 0;
        for (int c = 0; c <= text.Length; c++)
        {
            if (c < text.Length && text[c] != '\n') continue;
            if (text[start..c].TrimEnd('\r').Length > 0) lineEnds.Add(c);
            start = c + 1;
        }
        var result = new List<int>(lineEnds.Count);
        int k = 0;
        foreach (int end in lineEnds)
        {
            while (k < tokens.Length && tokenizer.Decode(tokens.AsSpan(0, k + 1)).Length < end) k++;
            result.Add(Math.Min(k, tokens.Length - 1));
        }
        return result;
    }

    /// <summary>Step-level advantages (N, T) for group algorithms; rows are laid out group by group.</summary>
    public static Tensor GroupStepAdvantages(IReadOnlyList<IReadOnlyList<(int Position, double Score)>> steps, int groupSize, long width, Device device)
    {
        int n = steps.Count;
        var adv = new float[n * width];
        for (int g = 0; g < n / groupSize; g++)
        {
            var all = Enumerable.Range(g * groupSize, groupSize).SelectMany(i => steps[i].Select(s => s.Score)).ToList();
            if (all.Count == 0) continue;
            double mean = all.Average(), std = Math.Sqrt(all.Sum(s => (s - mean) * (s - mean)) / Math.Max(1, all.Count - 1));
            for (int i = g * groupSize; i < (g + 1) * groupSize; i++)
            {
                double suffix = 0;
                for (int j = steps[i].Count - 1; j >= 0; j--)
                {
                    suffix += (steps[i][j].Score - mean) / (std + 1e-4);
                    int from = j == 0 ? 0 : steps[i][j - 1].Position + 1;
                    for (int t = from; t <= steps[i][j].Position && t < width; t++) adv[i * width + t] = (float)suffix;
                }
            }
        }
        return tensor(adv, [n, width], device: device);
    }

    /// <summary>Dense token rewards (N, T) for PPO: s_j − s_{j−1} on the last token of step j.</summary>
    public static Tensor DenseRewards(IReadOnlyList<IReadOnlyList<(int Position, double Score)>> steps, long width, Device device)
    {
        int n = steps.Count;
        var r = new float[n * width];
        for (int i = 0; i < n; i++)
        {
            double previous = 0;
            foreach (var (position, score) in steps[i])
            {
                if (position < width) r[i * width + position] += (float)(score - previous);
                previous = score;
            }
        }
        return tensor(r, [n, width], device: device);
    }
}
