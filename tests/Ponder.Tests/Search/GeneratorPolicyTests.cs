using Ponder.Policy;
using Ponder.Search;
using Ponder.Tests.Policy;

namespace Ponder.Tests.Search;

public sealed class GeneratorPolicyTests
{
    private static readonly Ponder.Tasks.Problem Problem = new("p", "12 +3\n", "15");

    [Fact]
    public void Session_charges_exactly_the_tokens_the_generator_ran()
    {
        var tokenizer = new CharTokenizer();
        using var model = TinyModels.Model(tokenizer.VocabSize, initStd: 0.1);
        var generator = new Generator(model, tokenizer);
        var policy = new GeneratorPolicy(generator, new SearchLimits { MaxStepTokens = 6, MaxNewTokens = 20 });
        var meter = new ComputeMeter(policy.Flops);
        using (var session = policy.Open(Problem, meter))
        {
            var children = session.Expand([session.Root], 3, 1.0, 7)[0];
            session.Finish(children, 1.0, 8);
            session.Sample(2, 1.0, 9);
        }
        Assert.Equal(generator.PrefillTokens, meter.PrefillTokens);
        Assert.Equal(generator.DecodeTokens, meter.DecodeTokens);
        Assert.Equal(2 * Prompting.Encode(tokenizer, Problem.Prompt).Length, meter.PrefillTokens); // root once, samples once
    }

    [Fact]
    public void Sampled_solutions_have_the_steps_a_reward_model_reads_up_to_the_answer_and_at_most_max_steps()
    {
        // Given a near-uniform tiny policy (its samples are random characters, newlines and '#' among them) and one step a solution
        var tokenizer = new CharTokenizer();
        using var model = TinyModels.Model(tokenizer.VocabSize, initStd: 0.01);
        var limits = new SearchLimits { MaxStepTokens = 8, MaxNewTokens = 40, MaxSteps = 1 };
        var policy = new GeneratorPolicy(new Generator(model, tokenizer), limits);

        // When 64 whole solutions are sampled
        using var session = policy.Open(Problem, new ComputeMeter(policy.Flops));
        var nodes = session.Sample(64, 1.0, 3);

        // Then each one's steps are its lines up to its final-answer line, one at most, though many texts have more lines
        Assert.Contains(nodes, n => Ponder.Tasks.Solution.Lines(n.Text).Count > 1);
        Assert.All(nodes, n => Assert.Equal(Ponder.Rewards.StepText.Steps(n.Text, 1), n.Steps));
    }

    [Fact]
    public void A_large_sample_is_drawn_in_bounded_batches_whose_first_is_the_unbatched_draw()
    {
        var tokenizer = new CharTokenizer();
        using var model = TinyModels.Model(tokenizer.VocabSize, initStd: 0.1);
        var policy = new GeneratorPolicy(new Generator(model, tokenizer), new SearchLimits { MaxStepTokens = 2, MaxNewTokens = 3 });
        int n = GeneratorSession.MaxSampleBatch + 5;

        IReadOnlyList<string> Texts(int count)
        {
            using var session = policy.Open(Problem, new ComputeMeter(policy.Flops));
            return session.Sample(count, 1.0, 9).Select(s => s.Text).ToList();
        }
        var all = Texts(n);
        var first = Texts(GeneratorSession.MaxSampleBatch);

        Assert.Equal(n, all.Count);
        Assert.Equal(first, all.Take(GeneratorSession.MaxSampleBatch));
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        using var stopped = policy.Open(Problem, new ComputeMeter(policy.Flops, cancelled.Token));
        Assert.Throws<OperationCanceledException>(() => stopped.Sample(n, 1.0, 9));
    }

    [Fact]
    public void Expanded_steps_continue_their_prefix_without_recomputing_it()
    {
        var tokenizer = new CharTokenizer();
        using var model = TinyModels.Model(tokenizer.VocabSize, initStd: 0.1);
        var generator = new Generator(model, tokenizer);
        var policy = new GeneratorPolicy(generator, new SearchLimits { MaxStepTokens = 4, MaxNewTokens = 40, MaxSteps = 40 });
        var meter = new ComputeMeter(policy.Flops);
        using var session = policy.Open(Problem, meter);
        var nodes = session.Expand([session.Root], 2, 1.0, 1)[0];
        for (int depth = 0; depth < 3; depth++)
        {
            var open = nodes.Where(n => !n.Finished).ToList();
            if (open.Count == 0) break;
            nodes = session.Expand(open, 2, 1.0, 2 + depth).SelectMany(c => c).ToList();
        }
        var c = meter.Snapshot();
        Assert.Equal(Prompting.Encode(tokenizer, Problem.Prompt).Length, c.PrefillTokens);
        Assert.Equal(c.GeneratedTokens, c.DecodeTokens);                 // every sampled token run exactly once
    }

    [Fact]
    public void Expanded_and_finished_nodes_never_run_past_max_new_tokens()
    {
        // Given a near-uniform policy (lines of random length) whose steps may be longer than what a node has left
        var tokenizer = new CharTokenizer();
        using var model = TinyModels.Model(tokenizer.VocabSize, initStd: 0.01);
        var limits = new SearchLimits { MaxStepTokens = 8, MaxNewTokens = 13, MaxSteps = 40 };
        var policy = new GeneratorPolicy(new Generator(model, tokenizer), limits);
        using var session = policy.Open(Problem, new ComputeMeter(policy.Flops));

        // When a tree is grown three levels deep, then its open nodes finished
        var all = new List<StepNode>();
        var nodes = session.Expand([session.Root], 64, 1.0, 1)[0];
        all.AddRange(nodes);
        for (int depth = 0; depth < 2; depth++)
        {
            var open = nodes.Where(n => !n.Finished).ToList();
            if (open.Count == 0) break;
            nodes = session.Expand(open, 3, 1.0, 2 + depth).SelectMany(c => c).ToList();
            all.AddRange(nodes);
        }
        all.AddRange(session.Finish(nodes, 1.0, 9));

        // Then no node's text holds more than MaxNewTokens tokens (one char a token), and some reached the limit
        Assert.All(all, n => Assert.True(n.Text.Length <= limits.MaxNewTokens, $"{n.Text.Length} tokens: '{n.Text}'"));
        Assert.Contains(all, n => n.Text.Length == limits.MaxNewTokens);
    }

    [Fact]
    public void A_node_from_another_session_is_refused()
    {
        var tokenizer = new CharTokenizer();
        using var model = TinyModels.Model(tokenizer.VocabSize, initStd: 0.1);
        var policy = new GeneratorPolicy(new Generator(model, tokenizer));
        var meter = new ComputeMeter(policy.Flops);
        using var session = policy.Open(Problem, meter);
        var foreign = new StepNode("x\n", ["x"], 0, false, "not a row");
        Assert.Throws<ArgumentException>(() => session.Expand([foreign], 1, 1.0, 0));
    }
}
