using Ponder.Policy;
using Ponder.Tasks;
using static TorchSharp.torch;

namespace Ponder.Learning;

/// <summary>
/// A search expert around the policy's own greedy answer. Each problem's greedy completion is verified; where it is
/// wrong, the <c>positions</c> completion tokens with the smallest margin between the policy's first and second choice
/// are each replaced by the next <c>alternatives</c> tokens in the policy's order, and every such prefix is continued
/// greedily. The greedy policy's errors on arith are mostly near-ties between digits (docs/learning/note.md, eighth
/// stop), so one flipped token often turns a wrong answer into a right one; the verifier says which.
/// </summary>
public static class UncertainFlips
{
    /// <summary>
    /// Candidates per problem: the greedy completion first, then (only if the verifier rejects it) the flipped
    /// continuations, in order of rising margin and then of the policy's preference among the alternatives.
    /// </summary>
    public static IReadOnlyList<IReadOnlyList<string>> Propose(Transformer model, ITokenizer tokenizer, IReadOnlyList<Problem> problems,
        Func<Problem, string, bool> verify, int positions, int alternatives, int maxNewTokens, int batchSize = 256)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(positions, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(alternatives, 1);
        var generator = new Policy.Generator(model, tokenizer);
        var greedyOptions = new SamplingOptions { Temperature = 0, MaxNewTokens = maxNewTokens };
        var result = new List<IReadOnlyList<string>>(problems.Count);
        model.eval();
        for (int first = 0; first < problems.Count; first += batchSize)
        {
            var part = problems.Skip(first).Take(batchSize).ToList();
            var prompts = part.Select(p => Prompting.Encode(tokenizer, p.Prompt)).ToList();
            var greedy = generator.Generate(prompts, greedyOptions);
            var candidates = greedy.Select(g => new List<string> { g.Text }).ToList();
            var wrong = Enumerable.Range(0, part.Count).Where(i => !verify(part[i], greedy[i].Text)).ToList();
            if (wrong.Count == 0) { result.AddRange(candidates); continue; }
            var (owners, prefixes) = FlippedPrefixes(model, tokenizer, wrong.Select(i => part[i]).ToList(), wrong.Select(i => greedy[i].Tokens).ToArray(),
                positions, alternatives);
            var rows = prefixes.Select((prefix, r) => (int[])[.. prompts[wrong[owners[r]]], .. prefix]).ToList();
            var continued = rows.Count == 0 ? [] : generator.Generate(rows, greedyOptions);
            for (int r = 0; r < rows.Count; r++)                  // within the completion's budget, as if generated with what was left of it
                candidates[wrong[owners[r]]].Add(tokenizer.Decode([.. prefixes[r], .. continued[r].Tokens.Take(maxNewTokens - prefixes[r].Length)]));
            result.AddRange(candidates);
        }
        return result;
    }

    /// <summary>
    /// For each completion: its <paramref name="positions"/> least certain tokens (smallest margin between the policy's
    /// first and second choice), and at each the next <paramref name="alternatives"/> tokens after the first choice.
    /// Returns each flipped prefix (completion tokens up to the position, then the alternative) and its completion's index.
    /// </summary>
    internal static (List<int> Owners, List<int[]> Prefixes) FlippedPrefixes(Transformer model, ITokenizer tokenizer, IReadOnlyList<Problem> problems,
        int[][] completions, int positions, int alternatives)
    {
        var owners = new List<int>();
        var prefixes = new List<int[]>();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var batch = RolloutBatch.Build(tokenizer, problems, completions, completions.Select(c => tokenizer.Decode(c)).ToList(), model.Device);
        var probs = model.Logits(model.Hidden(batch.Ids[.., ..^1])).softmax(-1);                   // (N, L−1, V)
        int k = (int)Math.Min(alternatives + 1, probs.shape[2]);
        var (top, index) = probs.topk(k, -1);                                                      // (N, L−1, k)
        var margin = (top[.., .., 0] - top[.., .., 1]).masked_fill(batch.Mask.eq(0), float.PositiveInfinity);
        var order = margin.argsort(1).cpu().data<long>().ToArray();                                // (N·(L−1)), rising margin per row
        var firstAction = batch.Mask.argmax(1).cpu().data<long>().ToArray();                       // (N): predicts completion token 0
        var tokens = index.cpu().data<long>().ToArray();                                           // (N·(L−1)·k)
        long width = batch.Mask.shape[1];
        for (int i = 0; i < problems.Count; i++)
        {
            int n = completions[i].Length;
            foreach (var position in order.AsSpan((int)(i * width), Math.Min(n, positions)))
            {
                int j = (int)(position - firstAction[i]);                                           // the completion token it predicts
                for (int a = 1; a < k; a++)
                {
                    int token = (int)tokens[(i * width + position) * k + a];
                    if (tokenizer.EndIds.Contains(token) || token == tokenizer.Pad || token == tokenizer.Bos || token >= tokenizer.VocabSize) continue;   // no text to continue
                    owners.Add(i);
                    prefixes.Add([.. completions[i][..j], token]);
                }
            }
        }
        return (owners, prefixes);
    }
}
