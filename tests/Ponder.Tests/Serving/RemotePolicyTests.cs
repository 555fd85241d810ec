using System.Net;
using Ponder.Policy;
using Ponder.Scaling;
using Ponder.Serving;

namespace Ponder.Tests.Serving;

/// <summary>A policy behind an OpenAI-compatible endpoint (here <c>ponder serve</c> on loopback) votes like the local one.</summary>
public sealed class RemotePolicyTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static readonly SamplingOptions Sampling = new() { Temperature = 1, MaxNewTokens = 30, Seed = 5 };

    [Theory]
    [InlineData(RemoteApi.Completions)]
    [InlineData(RemoteApi.Chat)]
    public async Task Remote_samples_are_the_local_samples_of_the_same_seed(RemoteApi api)
    {
        var remote = new RemotePolicy(fixture.Http, fixture.Server.BaseAddress, "tiny", api);

        var fetched = await remote.CompleteAsync(ServerFixture.Prompt, 6, Sampling);
        var local = await fixture.Local.CompleteAsync(ServerFixture.Prompt, 6, Sampling);

        Assert.Equal(local.Choices.Select(c => (c.Text, c.Finish)), fetched.Choices.Select(c => (c.Text, c.Finish)));
        Assert.Equal(local.CompletionTokens, fetched.CompletionTokens);
        Assert.Equal(local.PromptTokens, fetched.PromptTokens);
        Assert.All(fetched.Choices, c => Assert.Null(c.Tokens));                 // the API reports totals only for n > 1
    }

    [Fact]
    public async Task Majority_vote_over_remote_samples_equals_the_local_vote()
    {
        // Given 8 samples fetched remotely and 8 drawn locally, same seed
        var remote = await new VoteReasoner(8).ReasonAsync(new RemotePolicy(fixture.Http, fixture.Server.BaseAddress, "tiny"), ServerFixture.Prompt, Sampling);
        var local = await new VoteReasoner(8).ReasonAsync(fixture.Local, ServerFixture.Prompt, Sampling);
        var served = await new SingleSample().ReasonAsync(new RemotePolicy(fixture.Http, fixture.Server.BaseAddress, "tiny", RemoteApi.Chat),
            ServerFixture.Prompt, Sampling);

        // Then every route picks the same completion, whose answer is the majority of the candidates' answers
        Assert.Equal(local.Chosen.Text, remote.Chosen.Text);
        Assert.Equal(local.Answer, remote.Answer);
        Assert.Equal(Vote.Majority(local.Candidates.Select(c => Answers.Read(c.Text))), remote.Answer);
        Assert.NotNull(remote.Answer);
        Assert.True(remote.Candidates.Count(c => Answers.Read(c.Text) == remote.Answer) >= 2, "the winner should have several votes");
        Assert.Null(remote.ReasoningTokens);                                      // unknown remotely: no per-choice counts
        Assert.Equal(local.CompletionTokens, remote.CompletionTokens);
        Assert.Equal(fixture.Reference(1, Sampling)[0].Text, served.Chosen.Text);  // one remote sample, through chat
        Assert.Equal(0, served.ReasoningTokens);
    }

    [Fact]
    public async Task Remote_errors_carry_the_status_and_the_servers_message()
    {
        var wrongModel = new RemotePolicy(fixture.Http, fixture.Server.BaseAddress, "gpt-5");

        var e = await Assert.ThrowsAsync<HttpRequestException>(() => wrongModel.CompleteAsync(ServerFixture.Prompt, 2, Sampling));

        Assert.Equal(HttpStatusCode.NotFound, e.StatusCode);
        Assert.Contains("'gpt-5' does not exist", e.Message);
    }
}
