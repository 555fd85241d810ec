using Ponder.Scaling;

namespace Ponder.Tests.Scaling;

public sealed class DivergenceJsonTests
{
    [Fact]
    public void A_divergence_with_no_point_writes_its_medians_as_null_json()
    {
        // Given a run where greedy got every problem right (nothing to measure), and its rescoring by a reference
        var none = new DivergenceResult(Problems: 3, GreedyWrong: 0, Points: []);
        var rescored = new RescoredDivergence(none, []);

        // Then both write as JSON (NaN medians would make System.Text.Json throw after the whole evaluation), as nulls
        string json = none.ToJson().ToJsonString(JsonText.Indented) + rescored.ToJson().ToJsonString(JsonText.Indented);
        Assert.Contains("\"median_p_greedy\": null", json);
        Assert.Contains("\"reference_median_p_chosen\": null", json);
    }
}
