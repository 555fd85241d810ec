using Ponder.Search;
using Ponder.Tasks;

namespace Ponder.Tests.Search;

public sealed class RevisionPromptTests
{
    [Fact]
    public void Revision_prompt_is_problem_then_attempt_lines_then_the_marker()
    {
        var problem = new Problem("p", "3 +4 *2\n", "14");
        var revised = RevisionPrompt.Build(problem, "3+4=8\n\n8*2=16\n#16");
        Assert.Equal("3 +4 *2\n3+4=8\n8*2=16\n#16\nrevise:\n", revised.Prompt);
        Assert.Equal(("p", "14"), (revised.Id, revised.Answer));
        Assert.Equal("3 +4 *2\nrevise:\n", RevisionPrompt.Build(problem, "").Prompt);
    }
}
