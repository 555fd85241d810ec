using Ponder.Search;
using Ponder.Tasks;

namespace Ponder.Tests.Search;

/// <summary>
/// A policy given as a table: each partial solution (its text) maps to its possible next steps with probabilities.
/// A step starting with '#' ends the solution. Sampling is seeded; with <see cref="Enumerate"/> an expansion returns
/// the children in table order (at most the requested count), so tree statistics can be checked by hand. Each step
/// costs its characters plus the newline as decode tokens; the prompt is a fixed number of prefill tokens.
/// </summary>
internal sealed class ToyPolicy(Dictionary<string, (string Step, double P)[]> table, bool enumerate = false) : ISearchPolicy
{
    public const int PromptTokens = 5;

    public bool Enumerate { get; } = enumerate;

    public int Opened => Prompts.Count;

    /// <summary>The prompt of every session opened, in order.</summary>
    public List<string> Prompts { get; } = [];

    public FlopsModel Flops { get; } = new(10, 1);

    public ISearchSession Open(Problem problem, ComputeMeter meter)
    {
        Prompts.Add(problem.Prompt);
        return new Session(this, meter);
    }

    /// <summary>The answer a toy completion states: its line starting with '#', without the '#'.</summary>
    public static string? AnswerOf(Problem problem, string text) =>
        Solution.Lines(text).FirstOrDefault(l => l.StartsWith('#'))?[1..];

    public static SearchContext Context(ToyPolicy policy, Ponder.Rewards.IProcessReward? prm = null) =>
        new(policy, AnswerOf) { Prm = prm };

    public static Problem Problem { get; } = new("toy", "toy?\n", "2");

    private sealed class Session(ToyPolicy owner, ComputeMeter meter) : ISearchSession
    {
        public StepNode Root { get; } = Charge(meter, new StepNode("", [], 0, false, "root"));

        private static StepNode Charge(ComputeMeter m, StepNode root)
        {
            m.Prefill(0, PromptTokens);
            return root;
        }

        public IReadOnlyList<StepNode> Sample(int n, double temperature, long seed)
        {
            var random = new Random((int)seed);
            return Enumerable.Range(0, n).Select(_ => Roll(Root, temperature, random)).ToList();
        }

        public IReadOnlyList<IReadOnlyList<StepNode>> Expand(IReadOnlyList<StepNode> nodes, int perNode, double temperature, long seed)
        {
            var random = new Random((int)seed);
            return nodes.Select(node => (IReadOnlyList<StepNode>)(owner.Enumerate
                ? owner.Table(node).Take(perNode).Select(c => Child(node, c.Step, c.P)).ToList()
                : Enumerable.Range(0, perNode).Select(_ => Step(node, temperature, random)).ToList())).ToList();
        }

        public IReadOnlyList<StepNode> Finish(IReadOnlyList<StepNode> nodes, double temperature, long seed)
        {
            var random = new Random((int)seed);
            return nodes.Select(n => Roll(n, temperature, random)).ToList();
        }

        private StepNode Roll(StepNode node, double temperature, Random random)
        {
            while (!node.Finished) node = Step(node, temperature, random);
            return node;
        }

        private StepNode Step(StepNode node, double temperature, Random random)
        {
            var options = owner.Table(node);
            if (temperature == 0) return Child(node, options.MaxBy(o => o.P).Step, options.Max(o => o.P));
            double u = random.NextDouble(), sum = 0;
            foreach (var (step, p) in options)
            {
                sum += p;
                if (u < sum) return Child(node, step, p);
            }
            return Child(node, options[^1].Step, options[^1].P);
        }

        private StepNode Child(StepNode parent, string step, double p)
        {
            meter.Decode(PromptTokens + parent.Text.Length, step.Length + 1);
            meter.Generated(step.Length + 1);
            bool final = step.StartsWith('#');
            string text = parent.Text + step + (final ? "" : "\n");
            return new StepNode(text, Solution.Lines(text), Math.Log(p), final, final ? null : text);
        }

        public void Dispose()
        {
        }
    }

    private (string Step, double P)[] Table(StepNode node) =>
        table.TryGetValue(node.Text, out var options) ? options : throw new InvalidOperationException($"toy table has no entry for '{node.Text}'");
}
