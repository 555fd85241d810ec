using System.Text.Json.Nodes;
using Ponder.Interop;
using Ponder.Policy;
using Ponder.Rewards;
using Ponder.Tasks;
using Ponder.Tests.Policy;
using TorchSharp;
using static TorchSharp.torch;

namespace Ponder.Tests.Rewards;

public sealed class RewardModelTests : IDisposable
{
    readonly TempDirectory dir = new();
    static readonly CharTokenizer Tokenizer = new();
    static readonly Problem Problem = new("p", "3 +4\n", "7");

    public void Dispose() => dir.Dispose();

    /// <summary>A reward model on a tiny random trunk with a random (non-zero) head, so positions matter.</summary>
    static RewardModel TinyRewardModel(int vocab = 100, long seed = 3)
    {
        var rm = RewardModel.FromPolicy(TinyModels.Model(vocab, seed, initStd: 0.1), likelihoodFeatures: false);
        using var noGrad = no_grad();
        var head = rm.named_parameters().Single(p => p.name == RewardModel.HeadName).parameter;
        head.copy_(randn(head.shape) * 0.5);
        rm.eval();
        return rm;
    }

    static double[] FullForwardProbabilities(RewardModel rm, int[] ids, int start)
    {
        using var noGrad = no_grad();
        var input = tensor(ids.Select(i => (long)i).ToArray()).unsqueeze(0);       // (1, T)
        return rm.Scores(input, tensor(new long[] { start })).sigmoid().squeeze(0).to(ScalarType.Float64).data<double>().ToArray(); // (T)
    }

    [Fact]
    public void Step_scores_are_read_at_the_newline_that_ends_each_step()
    {
        // Given prompt "3 +4\n" and steps "3+4=7", "#7": tokens <s> 3 ␠ + 4 \n 3 + 4 = 7 \n # 7 \n
        var (ids, ends, start) = StepText.Encode(Tokenizer, Problem.Prompt, ["3+4=7", "#7"]);
        Assert.Equal([11, 14], ends);
        Assert.Equal(6, start);
        Assert.Equal(15, ids.Length);
        Assert.All(ends, e => Assert.Equal(Tokenizer.Encode("\n")[0], ids[e]));

        // When a PRM scores the two-step solution together with its one-step prefix (one padded batch)
        using var rm = TinyRewardModel();
        var scorer = new RewardScorer(rm, Tokenizer, RewardModelKind.Prm);
        var scores = scorer.ScoreSteps([Problem, Problem], [["3+4=7", "#7"], ["3+4=7"]]);

        // Then each score is the full forward pass's sigmoid at exactly those token positions
        var full = FullForwardProbabilities(rm, ids, start);
        Assert.Equal(2, scores[0].Count);
        Assert.Equal(full[11], scores[0][0], 5);
        Assert.Equal(full[14], scores[0][1], 5);
        Assert.NotEqual(full[10], full[11], 3);           // a neighbouring position would give another score
        // And a prefix scores the same alone as inside the longer solution (causal reads, right padding)
        Assert.Equal(scores[0][0], scores[1][0], 5);
        // And the tokens read are counted, padding excluded
        Assert.Equal(15 + 12, scorer.Tokens);
        Assert.True(scorer.Flops > 0);
    }

    [Fact]
    public void Likelihood_features_are_the_running_sum_and_minimum_of_solution_token_log_probs()
    {
        // Given a policy and a reward model made from it, whose hidden-state head is zero
        var policy = TinyModels.Model(Tokenizer.VocabSize, seed: 5, initStd: 0.1);
        using var rm = RewardModel.FromPolicy(policy);
        rm.eval();
        var (ids, ends, start) = StepText.Encode(Tokenizer, Problem.Prompt, ["3+4=7", "#7"]);

        // When scoring every position
        var logits = ScoreLogits(rm, ids, start);

        // Then the logit is the policy's log-probability of the solution so far (likelihood head starts at (1, 0)),
        // prompt tokens excluded
        var full = TinyModels.FullLogits(policy, ids).log_softmax(-1);                                  // (T, V)
        double sum = 0;
        for (int t = 0; t < ids.Length; t++)
        {
            if (t >= start) sum += full[t - 1, ids[t]].item<float>();
            Assert.Equal(sum, logits[t], 1e-4);
        }
        Assert.True(logits[ends[^1]] < -1, "a random policy gives its solution a low probability");
        // And the scorer reads the same logits at the step ends
        var scored = new RewardScorer(rm, Tokenizer, RewardModelKind.Prm).ScoreSteps([Problem], [["3+4=7", "#7"]])[0];
        Assert.Equal(1 / (1 + Math.Exp(-logits[ends[0]])), scored[0], 5);
        Assert.Equal(1 / (1 + Math.Exp(-logits[ends[1]])), scored[1], 5);
        Assert.True(rm.UsesLikelihood);
        // And without the features the model's scores do not depend on them (zero, frozen likelihood head)
        using var plain = RewardModel.FromPolicy(policy, likelihoodFeatures: false);
        Assert.False(plain.UsesLikelihood);
        Assert.All(ScoreLogits(plain, ids, start), l => Assert.Equal(0, l, 6));
        Assert.DoesNotContain(plain.parameters(), p => p.requires_grad && p.shape.SequenceEqual(new long[] { 1, 2 }));
    }

    static double[] ScoreLogits(RewardModel rm, int[] ids, int start)
    {
        using var noGrad = no_grad();
        var input = tensor(ids.Select(i => (long)i).ToArray()).unsqueeze(0);       // (1, T)
        return rm.Scores(input, tensor(new long[] { start })).squeeze(0).to(ScalarType.Float64).data<double>().ToArray();
    }

    [Fact]
    public void Outcome_score_is_the_last_step_score_for_an_orm_and_the_aggregate_for_a_prm()
    {
        using var rm = TinyRewardModel();
        string completion = "3+4=7\n#7\nignored after the final line";
        var steps = new RewardScorer(rm, Tokenizer, RewardModelKind.Prm).ScoreSteps([Problem], [["3+4=7", "#7"]])[0];

        var orm = new RewardScorer(rm, Tokenizer, RewardModelKind.Orm).Score([Problem], [completion]);
        var prmMin = new RewardScorer(rm, Tokenizer, RewardModelKind.Prm, Aggregation.Min).Score([Problem], [completion]);
        var prmMean = new RewardScorer(rm, Tokenizer, RewardModelKind.Prm, Aggregation.Mean).Score([Problem], [completion]);

        Assert.Equal(steps[1], orm[0], 9);
        Assert.Equal(steps.Min(), prmMin[0], 9);
        Assert.Equal(steps.Average(), prmMean[0], 9);
        Assert.Equal([0.0], new RewardScorer(rm, Tokenizer, RewardModelKind.Orm).Score([Problem], [""]));
    }

    CheckpointState State(string kind) => new() { Task = "arith", Kind = kind, Extra = new() { [LoadedRewardModel.PolicyKey] = "/policy" } };

    [Fact]
    public void Checkpoint_round_trip_keeps_scores_kind_and_a_transformers_readable_config()
    {
        using var rm = TinyRewardModel();
        LoadedRewardModel.Save(dir.Path, rm, Tokenizer, State("prm"));

        var loaded = LoadedRewardModel.Load(dir.Path, CPU);

        Assert.Equal(RewardModelKind.Prm, loaded.Kind);
        Assert.Equal("/policy", loaded.State.Extra![LoadedRewardModel.PolicyKey]);
        var steps = new List<IReadOnlyList<string>> { new[] { "3+4=7", "#7" } };
        Assert.Equal(new RewardScorer(rm, Tokenizer, RewardModelKind.Prm).ScoreSteps([Problem], steps)[0], loaded.Scorer().ScoreSteps([Problem], steps)[0]);
        var config = JsonNode.Parse(File.ReadAllText(dir.File(Checkpoint.ConfigFile)))!;
        Assert.Equal(RewardModel.Architecture, config["architectures"]![0]!.GetValue<string>());
        Assert.Equal("LABEL_0", config["id2label"]!["0"]!.GetValue<string>());
        using var reader = SafetensorsReader.Open(dir.File(Checkpoint.WeightsFile));
        Assert.Equal([1L, 32L], reader.Entries[RewardModel.HeadName].Shape);
        Assert.Equal([1L, 2L], reader.Entries[RewardModel.LikelihoodName].Shape);
        Assert.Contains(Checkpoint.HeadName, reader.Entries.Keys);      // the untied policy's language-model head, read by the likelihood features
    }

    [Fact]
    public void A_policy_checkpoint_is_refused_as_a_reward_model()
    {
        using var policy = TinyModels.Model(100);
        Checkpoint.Save(dir.Path, policy.Config, policy, Tokenizer, State("policy"));

        var e = Assert.Throws<InvalidDataException>(() => LoadedRewardModel.Load(dir.Path, CPU));
        Assert.Contains(dir.Path, e.Message);
        Assert.Contains("kind is 'policy', not a reward model", e.Message);
    }

    [Fact]
    public void A_two_label_head_is_refused_naming_the_file_and_the_tensor()
    {
        // Given a checkpoint whose score.weight has 2 rows (a two-class classifier)
        using var rm = TinyRewardModel();
        LoadedRewardModel.Save(dir.Path, rm, Tokenizer, State("orm"));
        string weights = dir.File(Checkpoint.WeightsFile);
        var tensors = Safetensors.Load(weights);
        tensors[RewardModel.HeadName] = zeros(2, 32);
        Safetensors.Save(weights, tensors);

        var e = Assert.Throws<InvalidDataException>(() => LoadedRewardModel.Load(dir.Path, CPU));
        Assert.Contains(weights, e.Message);
        Assert.Contains("'score.weight' has shape [2, 32], model expects [1, 32]", e.Message);
    }

    [Fact]
    public void A_vocabulary_that_differs_from_the_config_or_the_policy_is_refused()
    {
        // Given a reward model over 50 tokens saved with the 100-token tokenizer
        using var small = TinyRewardModel(vocab: 50);
        LoadedRewardModel.Save(dir.Path, small, Tokenizer, State("prm"));
        var e = Assert.Throws<InvalidDataException>(() => LoadedRewardModel.Load(dir.Path, CPU));
        Assert.Contains("tokenizer.json has 100 tokens but config.json vocab_size is 50", e.Message);

        // Given a consistent one, used with a policy whose tokenizer differs
        using var rm = TinyRewardModel();
        LoadedRewardModel.Save(dir.Path, rm, Tokenizer, State("prm"));
        var loaded = LoadedRewardModel.Load(dir.Path, CPU);
        var mismatch = Assert.Throws<InvalidDataException>(() => loaded.RequireSameVocabulary(new TestCharTokenizer(), "/other-policy"));
        Assert.Contains("differs from policy '/other-policy'", mismatch.Message);
    }
}
