using Ponder.Policy;
using Ponder.Tasks;

namespace Ponder.Learning;

/// <summary>
/// Verified solutions sampled from a policy: expert iteration's sampling expert, and the start pool of RL's supervised
/// steps (<see cref="SftPool.Start"/>). Each problem gets <c>samples</c> attempts; with a cap above that, the problems
/// short of <c>keep</c> correct attempts are drawn again, doubling their draws each pass, until they have them or have
/// had the cap (DART-Math's uniform rejection sampling, Tong et al. 2024).
/// </summary>
public static class RejectionSampling
{
    /// <summary>
    /// Per problem, every attempt in sampling order. Correct means the verifier's check and, when
    /// <paramref name="strict"/>, every step (<see cref="Solution.StepsCheck"/>); then an attempt also stops at its first
    /// wrong step (<see cref="Solution.StepRuledOut"/>), which it could not be kept past.
    /// </summary>
    /// <param name="maxSamples">Most attempts per problem (null: <paramref name="samples"/> for every problem).</param>
    public static IReadOnlyList<IReadOnlyList<string>> Attempts(Policy.Generator generator, ITokenizer tokenizer, ITask task,
        IReadOnlyList<Problem> problems, int samples, int? maxSamples, int keep, bool strict, double temperature, int seed, int maxNew)
    {
        generator.Model.eval();
        var prompts = problems.Select(p => Prompting.Encode(tokenizer, p.Prompt)).ToList();
        var sampling = new SamplingOptions { Temperature = temperature, MaxNewTokens = maxNew };
        var attempts = problems.Select(_ => new List<string>()).ToList();
        var correct = new int[problems.Count];
        var open = Enumerable.Range(0, problems.Count).ToList();
        int most = maxSamples ?? samples, draws = samples, drawn = 0;
        for (int pass = 0; open.Count > 0 && draws > 0; pass++)
        {
            var targets = open.Select(i => problems[i]).ToList();
            var generations = RepeatedSampler.Sample(generator, open.Select(i => prompts[i]).ToList(), draws, sampling,
                pass == 0 ? seed : Seeds.Mix(seed, pass), batchSize: 256,
                abandon: strict ? (j, lines) => Solution.StepRuledOut(task, targets[j], lines) : null);
            drawn += draws;
            draws = Math.Min(drawn, most - drawn);                     // doubling, up to the cap; 0 ends the loop
            for (int j = 0; j < open.Count; j++)
            {
                attempts[open[j]].AddRange(generations[j].Select(g => g.Text));
                var problem = problems[open[j]];
                if (draws > 0) correct[open[j]] += generations[j].Count(g => task.Check(problem, g.Text).Correct && Solution.StepsCheck(task, problem, g.Text, strict));
            }
            open = open.Where(i => correct[i] < keep).ToList();
        }
        return attempts;
    }

    /// <summary>
    /// The solutions worth keeping from <paramref name="attempts"/>: per problem, its distinct correct attempts (answer
    /// checked on the attempt, steps on its canonical text), at most <paramref name="keep"/>, each as its canonical text.
    /// Also the number of problems with one and the number of attempts with a right answer.
    /// </summary>
    public static (List<(string Prompt, string Completion)> Kept, int Solved, int CorrectAttempts) Keep(ITask task, IReadOnlyList<Problem> problems,
        IReadOnlyList<IReadOnlyList<string>> attempts, int keep, bool strict)
    {
        var kept = new List<(string Prompt, string Completion)>();
        int solved = 0, correctAttempts = 0;
        for (int i = 0; i < problems.Count; i++)
        {
            var right = attempts[i].Where(c => task.Check(problems[i], c).Correct).ToList();
            correctAttempts += right.Count;
            var correct = right.Select(Canonical).Where(c => Solution.StepsCheck(task, problems[i], c, strict)).Distinct().ToList();
            if (correct.Count > 0) solved++;
            kept.AddRange(correct.Take(keep).Select(c => (problems[i].Prompt, c)));
        }
        return (kept, solved, correctAttempts);
    }

    /// <summary>A kept solution is its lines up to the final-answer line (trailing text dropped), one step a line.</summary>
    public static string Canonical(string completion) => Solution.Join(Solution.LinesToFinal(completion));
}
