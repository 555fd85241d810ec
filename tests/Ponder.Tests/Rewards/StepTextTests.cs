using Ponder.Rewards;

namespace Ponder.Tests.Rewards;

public sealed class StepTextTests
{
    [Theory]
    [InlineData("#7", true)]
    [InlineData("#-12", true)]
    [InlineData("#### 72", true)]
    [InlineData("# 72", true)]
    [InlineData("#", true)]
    [InlineData("## Step 1", false)]
    [InlineData("#### Step 3: the total", false)]
    [InlineData("3+4=7", false)]
    public void A_final_answer_line_starts_with_a_hash_and_is_not_a_markdown_heading(string line, bool final) =>
        Assert.Equal(final, StepText.IsFinal(line));

    [Fact]
    public void A_chat_models_headings_are_steps_and_its_hashes_line_ends_the_solution()
    {
        // Given a GSM8K-style completion with Markdown headings between its steps, and a line after its answer
        const string completion = "## Step 1\nNatalia sold 24 in May.\n## Step 2\n48+24=72\n#### 72\nanything after";

        // When it is split into the steps a reward model reads
        var steps = StepText.Steps(completion);

        // Then the headings are steps, the #### line is the last, and nothing after it is read
        Assert.Equal(["## Step 1", "Natalia sold 24 in May.", "## Step 2", "48+24=72", "#### 72"], steps);
        Assert.Equal(["## Step 1", "Natalia sold 24 in May."], StepText.Steps(completion, maxSteps: 2));
    }
}
