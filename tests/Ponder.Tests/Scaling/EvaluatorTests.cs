using Ponder.Policy;
using Ponder.Scaling;
using Ponder.Tasks;
using Ponder.Tests.Policy;

namespace Ponder.Tests.Scaling;

public sealed class EvaluatorTests
{
    [Theory]
    [InlineData("arith", true)]
    [InlineData("countdown:numbers=3,max=15,target=50", false)]
    public void Majority_at_k_is_reported_only_where_answers_can_differ(string spec, bool votes)
    {
        // Given a tiny random policy and a task: arith's answers are numbers that can disagree; every countdown
        // answer names the target, so a vote over them only repeats a sample's verdict
        var tokenizer = new CharTokenizer();
        using var model = TinyModels.Model(tokenizer.VocabSize, initStd: 0.1, maxPositions: 256);

        // When it is evaluated with samples
        var result = Evaluator.Run(model, tokenizer, TaskRegistry.Create(spec), new EvalOptions { Count = 2, Samples = 4, Seed = 1 });

        // Then pass@k is there either way, maj@k only for arith
        Assert.Equal([1, 2, 4], result.PassAt.Keys);
        Assert.Equal(votes, result.MajorityAt.Count > 0);
        Assert.Equal(votes, result.ToJson().ContainsKey("maj@4"));
    }
}
