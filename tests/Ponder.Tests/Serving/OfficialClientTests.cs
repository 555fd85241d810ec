#pragma warning disable OPENAI001 // Seed and reasoning effort are marked experimental in the OpenAI SDK.
using System.ClientModel;
using Microsoft.Extensions.AI;
using OpenAI;
using OpenAI.Chat;
using ChatFinishReason = OpenAI.Chat.ChatFinishReason;
using Ponder.Policy;

namespace Ponder.Tests.Serving;

/// <summary>The real server on loopback, called by the official OpenAI .NET SDK and by Microsoft.Extensions.AI.</summary>
public sealed class OfficialClientTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private ChatClient Sdk(bool endless = false) =>
        new("tiny", new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = (endless ? fixture.Endless : fixture.Server).BaseAddress });

    [Fact]
    public async Task Openai_sdk_chat_completion_returns_the_greedy_answer_with_usage()
    {
        // Given the bigram policy, whose greedy solution of any problem is "#4" then EOS
        var options = new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 20 };

        // When the official SDK asks for a chat completion
        ChatCompletion completion = await Sdk().CompleteChatAsync([new UserChatMessage(TinyServedModel.Problem)], options);

        // Then it reads the answer, the finish reason and the usage the server reported
        Assert.Equal("#4", completion.Content.Single().Text);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal("tiny", completion.Model);
        Assert.Equal(1 + ServerFixture.Prompt.Length, completion.Usage.InputTokenCount);    // BOS + one token per character
        Assert.Equal(3, completion.Usage.OutputTokenCount);                                 // '#', '4', EOS
        Assert.Equal(0, completion.Usage.OutputTokenDetails.ReasoningTokenCount);
    }

    [Fact]
    public async Task Openai_sdk_reads_token_log_probabilities_and_their_alternatives()
    {
        var options = new ChatCompletionOptions { Temperature = 1, MaxOutputTokenCount = 16, Seed = 4, IncludeLogProbabilities = true, TopLogProbabilityCount = 2 };

        ChatCompletion completion = await Sdk(endless: true).CompleteChatAsync([new UserChatMessage(TinyServedModel.Problem)], options);

        var expected = fixture.Reference(1, new SamplingOptions { Temperature = 1, MaxNewTokens = 16, Seed = 4 }, endless: true, logProbs: 2)[0];
        Assert.Equal(16, completion.ContentTokenLogProbabilities.Count);
        Assert.Equal(expected.LogProbs!.Select(t => t.Text), completion.ContentTokenLogProbabilities.Select(t => t.Token));
        Assert.Equal(expected.LogProbs!.Select(t => t.LogProb!.Value), completion.ContentTokenLogProbabilities.Select(t => t.LogProbability));
        Assert.All(completion.ContentTokenLogProbabilities, t => Assert.Equal(2, t.TopLogProbabilities.Count));

        // and streamed, the same tokens arrive with the text deltas they make up, several deltas each with its own
        var streamed = new List<ChatTokenLogProbabilityDetails>();
        var deltas = 0;
        await foreach (var update in Sdk(endless: true).CompleteChatStreamingAsync([new UserChatMessage(TinyServedModel.Problem)], options))
        {
            if (update.ContentTokenLogProbabilities.Count == 0) continue;
            deltas++;
            Assert.Equal(string.Concat(update.ContentUpdate.Select(p => p.Text)), string.Concat(update.ContentTokenLogProbabilities.Select(t => t.Token)));
            streamed.AddRange(update.ContentTokenLogProbabilities);
        }
        Assert.True(deltas >= 2, $"{deltas} deltas with log-probabilities");
        Assert.Equal(completion.ContentTokenLogProbabilities.Select(t => (t.Token, t.LogProbability)), streamed.Select(t => (t.Token, t.LogProbability)));
    }

    [Fact]
    public async Task Openai_sdk_streaming_concatenates_to_the_non_streamed_text_of_the_same_seed()
    {
        // Given the endless policy (no EOS), so 40 tokens arrive in several decoded pieces
        var options = new ChatCompletionOptions { Temperature = 1, MaxOutputTokenCount = 40, Seed = 21 };
        var client = Sdk(endless: true);

        // When the same request is made streamed and not
        ChatCompletion whole = await client.CompleteChatAsync([new UserChatMessage(TinyServedModel.Problem)], options);
        var deltas = new List<string>();
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage(TinyServedModel.Problem)], options))
        {
            deltas.AddRange(update.ContentUpdate.Select(p => p.Text).Where(t => t.Length > 0));
            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }

        // Then the stream came in pieces that add up to the same text, ended by length, with the usage chunk last
        Assert.True(deltas.Count >= 3, $"expected several deltas, got {deltas.Count}");
        Assert.Equal(whole.Content.Single().Text, string.Concat(deltas));
        Assert.Equal(fixture.Reference(1, new SamplingOptions { Temperature = 1, MaxNewTokens = 40, Seed = 21 }, endless: true)[0].Text, string.Concat(deltas));
        Assert.Equal(ChatFinishReason.Length, finish);
        Assert.NotNull(usage);
        Assert.Equal(40, usage.OutputTokenCount);
    }

    [Fact]
    public async Task Openai_sdk_reasoning_effort_medium_reports_reasoning_tokens()
    {
        // Given medium effort: best-of-8 majority vote at temperature 1
        var options = new ChatCompletionOptions { ReasoningEffortLevel = ChatReasoningEffortLevel.Medium, Seed = 5, MaxOutputTokenCount = 30 };

        ChatCompletion completion = await Sdk().CompleteChatAsync([new UserChatMessage(TinyServedModel.Problem)], options);

        // Then the answer is the search's, and every token it sampled beyond the answer (and its EOS) is a reasoning token
        var search = fixture.Search("best-of-n:8@1", 5, 30);
        string text = completion.Content.Single().Text;
        Assert.Equal(search.Completion, text);
        Assert.Equal(8, search.Candidates.Count);
        Assert.Equal(search.Compute.GeneratedTokens, completion.Usage.OutputTokenCount);
        Assert.Equal(search.Compute.GeneratedTokens - (text.Length + 1), completion.Usage.OutputTokenDetails.ReasoningTokenCount);
    }

    [Fact]
    public async Task Extensions_ai_chat_client_gets_the_answer()
    {
        IChatClient client = Sdk().AsIChatClient();

        var response = await client.GetResponseAsync(TinyServedModel.Problem, new ChatOptions { Temperature = 0, MaxOutputTokens = 20 });

        Assert.Equal("#4", response.Text);
        Assert.Equal(Microsoft.Extensions.AI.ChatFinishReason.Stop, response.FinishReason);
        Assert.Equal(3, response.Usage?.OutputTokenCount);
    }

    [Fact]
    public async Task Extensions_ai_streaming_matches_the_reference_sample()
    {
        IChatClient client = Sdk(endless: true).AsIChatClient();
        var options = new ChatOptions { Temperature = 1, MaxOutputTokens = 30, Seed = 8, StopSequences = ["\n#9"] };

        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync(TinyServedModel.Problem, options)) updates.Add(update);

        var expected = fixture.Reference(1, new SamplingOptions { Temperature = 1, MaxNewTokens = 30, Seed = 8, Stop = ["\n#9"] }, endless: true)[0];
        Assert.Equal(expected.Text, string.Concat(updates.Select(u => u.Text)));
        Assert.DoesNotContain("\n#9", string.Concat(updates.Select(u => u.Text)));
        Assert.Contains(updates, u => u.FinishReason is not null);
    }
}
