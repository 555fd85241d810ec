using Ponder.Cli;

namespace Ponder.Tests.Cli;

public sealed class SearchCommandTests
{
    private const string Missing = "/nonexistent/ponder-checkpoint";   // never loaded: every error below comes first

    [Fact]
    public void Solve_rejects_an_unknown_strategy_naming_the_known_ones()
    {
        var e = Assert.Throws<UsageException>(() => SolveCommand.Run(["--checkpoint", Missing, "--strategy", "bfs", "1 +2"]));
        Assert.Contains("unknown strategy 'bfs'", e.Message);
        Assert.Contains("beam", e.Message);
    }

    [Fact]
    public void Solve_rejects_unknown_options_bad_budgets_and_bad_enum_values_before_loading_anything()
    {
        Assert.Contains("unknown option '--beams'", Assert.Throws<UsageException>(() =>
            SolveCommand.Run(["--checkpoint", Missing, "--strategy", "beam", "--beams", "4", "1 +2"])).Message);
        Assert.Contains("budget", Assert.Throws<UsageException>(() =>
            SolveCommand.Run(["--checkpoint", Missing, "--strategy", "beam", "--budget", "lots", "1 +2"])).Message);
        Assert.Contains("unknown leaf 'oracle'", Assert.Throws<UsageException>(() =>
            SolveCommand.Run(["--checkpoint", Missing, "--strategy", "mcts", "--leaf", "oracle", "1 +2"])).Message);
    }

    [Fact]
    public void Scale_rejects_bad_budget_lists_and_unknown_options_before_loading_anything()
    {
        Assert.Contains("--budgets", Assert.Throws<UsageException>(() => ScaleCommand.Run(["--checkpoint", Missing, "--budgets", "1,0,4"])).Message);
        Assert.Contains("unknown option '--strategy'", Assert.Throws<UsageException>(() => ScaleCommand.Run(["--checkpoint", Missing, "--strategy", "beam"])).Message);
    }

    [Fact]
    public void Scale_rejects_bad_compute_optimal_bins_temperature_and_prm_cache_before_loading_anything()
    {
        Assert.Contains("bins=B", Assert.Throws<UsageException>(() => ScaleCommand.Run(["--checkpoint", Missing, "--compute-optimal", "bins=0"])).Message);
        Assert.Contains("needs bins=B", Assert.Throws<UsageException>(() => ScaleCommand.Run(["--checkpoint", Missing, "--compute-optimal", "samples=2"])).Message);
        Assert.Contains("'--temperature'", Assert.Throws<UsageException>(() => ScaleCommand.Run(["--checkpoint", Missing, "--temperature", "-1"])).Message);
        Assert.Contains("'--prm-cache' is on or off", Assert.Throws<UsageException>(() => ScaleCommand.Run(["--checkpoint", Missing, "--prm-cache", "maybe"])).Message);
        Assert.Contains("'--prm-cache' is on or off", Assert.Throws<UsageException>(() =>
            SolveCommand.Run(["--checkpoint", Missing, "--strategy", "beam", "--prm-cache", "1", "1 +2"])).Message);
    }
}
