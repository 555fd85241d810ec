using Ponder.Policy;
using Ponder.Rewards;
using Ponder.Tasks;

namespace Ponder.Learning;

/// <summary>
/// <see cref="RlOptions.ReplayStart"/>: RL's prompts are the start pool's problems, a seeded shuffle a pass over them at a
/// time, and a group that solves nothing by itself takes the start policy's stored solution of its problem as its last
/// rollout.
/// </summary>
/// <param name="problems">The problems the start policy attempted (expert iteration's first-round problems).</param>
/// <param name="solutions">Its verified solution of each problem it solved, by prompt.</param>
public sealed class StartReplay(IReadOnlyList<Problem> problems, IReadOnlyDictionary<string, string> solutions, int promptsPerStep, int seed)
{
    /// <summary>Step <paramref name="step"/>'s prompts (steps count from 1): the next PromptsPerStep of the shuffled passes.</summary>
    public IReadOnlyList<Problem> Prompts(long step)
    {
        var list = new List<Problem>(promptsPerStep);
        (long Pass, int[] Order) current = (-1, []);
        for (long k = (step - 1) * promptsPerStep; k < step * promptsPerStep; k++)
        {
            long pass = k / problems.Count;
            if (pass != current.Pass) current = (pass, Order(pass));
            list.Add(problems[current.Order[k % problems.Count]]);
        }
        return list;
    }

    int[] Order(long pass)
    {
        var order = Enumerable.Range(0, problems.Count).ToArray();
        new Random(Seeds.Mix(seed + 52711, pass)).Shuffle(order);
        return order;
    }

    /// <summary>
    /// Each group of <paramref name="group"/> rows of <paramref name="gens"/> none of which solves its problem takes the
    /// stored solution (if the start policy found one) as its last rollout: its reward set and its flag in
    /// <paramref name="replayed"/>. Returns the number of groups that solved nothing by themselves.
    /// </summary>
    public int Fill(IReadOnlyList<Problem> prompts, int group, ITokenizer tokenizer, VerifierReward reward, List<Generation> gens,
        double[] rewards, bool[] replayed)
    {
        var unsolved = GroupRows.Unsolved(prompts, group, gens, reward);
        foreach (int g in unsolved)
        {
            if (!solutions.TryGetValue(prompts[g].Prompt, out var text)) continue;
            int[] tokens = [.. tokenizer.Encode(text), tokenizer.Eos];   // not sampled: no log-probs (the loss takes them from its own pass)
            GroupRows.PutLast(g, group, prompts[g], new Generation(tokens, new float[tokens.Length], text, FinishReason.Eos, null), reward, gens, rewards, replayed);
        }
        return unsolved.Count;
    }
}
