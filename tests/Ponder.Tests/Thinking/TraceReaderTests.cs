using Ponder.Thinking;

namespace Ponder.Tests.Thinking;

public sealed class TraceReaderTests
{
    static readonly long[] Numbers = [8, 6, 19];
    const long Target = 67;

    static TraceStats Read(params string[] lines) => TraceReader.Read(string.Join('\n', lines), Numbers, Target, TraceStyle.Dfs);

    [Fact]
    public void A_clean_prefix_counts_its_dead_end_and_no_invalid_line()
    {
        // Given a correct DFS prefix on 6 8 19 -> 67 ending in a dead end
        // When it is read
        var stats = Read("6 8 19 -> 67", "try 8+6=14", "14 19 -> 67", "try 19+14=33", "no: 33 != 67");

        // Then it has two tries, one dead end and no invalid line
        Assert.Equal((2, 1, 0), (stats.Tries, stats.DeadEnds, stats.InvalidLines));
    }

    [Theory]
    [InlineData("try 8+6=15", "15 19 -> 67", "try 19+15=34", "no: 34 != 67")]   // wrong arithmetic, then the state it would give
    [InlineData("try 8+6=15", "14 19 -> 67", "try 19+14=33", "no: 33 != 67")]   // wrong arithmetic, then the right state
    [InlineData("try 9+6=15", "15 19 -> 67", "try 19+15=34", "no: 34 != 67")]   // an operand not in the state
    [InlineData("try 8+six", "14 19 -> 67", "try 19+14=33", "no: 33 != 67")]    // a move that does not parse
    public void An_invalid_move_and_the_state_after_it_count_as_one_invalid_line(string move, string state, string next, string verdict)
    {
        // Given a trace whose first move is invalid, followed by a state line and a continuation correct from that state
        // When it is read
        var stats = Read("6 8 19 -> 67", move, state, next, verdict);

        // Then the one fault counts once, and the continuation is still read
        Assert.Equal(1, stats.InvalidLines);
        Assert.Equal((2, 1), (stats.Tries, stats.DeadEnds));
    }

    [Fact]
    public void An_invalid_move_and_the_verdict_after_it_count_as_one_invalid_line_and_no_dead_end()
    {
        // Given a trace whose last move has wrong arithmetic (19+14 is 33), followed by a dead-end verdict on it
        // When it is read
        var stats = Read("6 8 19 -> 67", "try 8+6=14", "14 19 -> 67", "try 19+14=32", "no: 32 != 67");

        // Then the fault counts once and the verdict on a move that was never played is no dead end
        Assert.Equal((1, 0), (stats.InvalidLines, stats.DeadEnds));

        // And a verdict after it that names another target is a fault of its own, as a state line naming one would be
        var wrongTarget = Read("6 8 19 -> 67", "try 8+6=14", "14 19 -> 67", "try 19+14=32", "no: 32 != 50");
        Assert.Equal((2, 0), (wrongTarget.InvalidLines, wrongTarget.DeadEnds));
    }

    [Theory]
    [InlineData("try 8+6=14", "no: 14 != 67")]                          // two numbers remain: not a dead end
    [InlineData("try 8*6=48", "no: 999 != 67")]                         // the wrong result
    [InlineData("try 8+6=14", "no: garbage")]                           // does not parse
    public void An_invalid_no_line_counts_as_invalid_and_not_as_a_dead_end(string move, string no)
    {
        // Given a valid move followed by a no: line that does not follow from it
        // When it is read
        var stats = Read("6 8 19 -> 67", move, no);

        // Then it counts once as invalid and never as a dead end
        Assert.Equal((1, 0), (stats.InvalidLines, stats.DeadEnds));
    }

    [Fact]
    public void A_no_line_with_no_open_move_counts_as_invalid_and_not_as_a_dead_end()
    {
        // Given a no: line right after the start state, with no move to answer
        // When it is read
        var stats = Read("6 8 19 -> 67", "no: 33 != 67");

        // Then it is invalid and no dead end
        Assert.Equal((1, 0), (stats.InvalidLines, stats.DeadEnds));
    }
}
