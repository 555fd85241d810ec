using Ponder.Search;

namespace Ponder.Tests.Search;

public sealed class ComputeMeterTests
{
    [Fact]
    public void Meter_counts_a_hand_computed_case_exactly()
    {
        // 100 FLOPs per token + 2 per attended key. Prefill positions 0,1,2 attend to 1,2,3 keys: 300 + 2·6 = 312.
        // Decode positions 3,4 attend to 4,5 keys: 200 + 2·9 = 218. Reward: 7 tokens × 50 = 350.
        var meter = new ComputeMeter(new FlopsModel(100, 2));
        meter.Prefill(0, 3);
        meter.Decode(3, 2);
        meter.Generated(3);
        meter.Reward(7, 50);
        var c = meter.Snapshot();
        Assert.Equal(new Compute(3, 2, 3, 7, 530, 350), c);
        Assert.Equal(880, c.Flops);
        Assert.Equal(12, c.Tokens);
        Assert.Equal(5 / 3.0, c.ForwardPerGenerated, 12);
    }

    [Fact]
    public void Flops_model_matches_the_transformer_per_token_count_at_every_context()
    {
        var model = Ponder.Tests.Policy.TinyModels.Model(vocab: 20);
        var flops = FlopsModel.Of(model);
        Assert.Equal(model.FlopsPerToken(1) + model.FlopsPerToken(2) + model.FlopsPerToken(3), flops.Run(0, 3), 6);
        Assert.Equal(model.FlopsPerToken(8), flops.Run(7, 1), 6);
    }

    [Fact]
    public void Metered_reward_calls_are_charged_by_the_tokens_they_report()
    {
        var meter = new ComputeMeter(new FlopsModel(1, 0));
        var prm = new ToyReward(new() { ["ab"] = 1 }, flopsPerToken: 3);
        meter.Charge(prm, () => prm.ScoreSteps([ToyPolicy.Problem], [["ab", "cd"]]));   // "ab\ncd": 5 characters
        Assert.Equal(5, meter.RewardTokens);
        Assert.Equal(15, meter.RewardFlops);
    }

    [Fact]
    public void Budgets_parse_samples_tokens_and_flops_and_reject_the_rest()
    {
        Assert.Equal(Budget.Samples(16), Budget.Parse("16"));
        Assert.Equal(Budget.Tokens(4096), Budget.Parse("4096tok"));
        Assert.Equal(Budget.Flops(2e9), Budget.Parse("2e9flops"));
        foreach (var bad in new[] { "0", "-3", "lots", "1.5", "12kg", "", "2000000", "1e99tok", "2000000000tok", "1e99flops", "1e22flops" })
            Assert.Throws<ArgumentException>(() => Budget.Parse(bad));
        Assert.Equal(Budget.Tokens(1 << 30), Budget.Parse("1073741824tok"));
        Assert.Equal(Budget.Flops(1e21), Budget.Parse("1e21flops"));
    }
}
