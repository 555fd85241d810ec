using Ponder.Cli;

namespace Ponder.Tests.Cli;

/// <summary>Runs a command line in process, as the tool would, and keeps what it wrote to standard error.</summary>
internal static class CliRun
{
    public static (int Code, string Error) Run(params string[] args)
    {
        var error = new StringWriter();
        int code = Entry.Run(args, error);
        return (code, error.ToString());
    }

    /// <summary>The shape and evaluation of a tiny SFT run from scratch, for tests that need a checkpoint to work on.</summary>
    public static readonly string[] Tiny =
        ["--hidden", "32", "--layers", "1", "--heads", "2", "--kv-heads", "2", "--intermediate", "64", "--eval-every", "0", "--eval-count", "4"];

    /// <summary>A tiny arith policy trained <paramref name="steps"/> steps into <c>root/name</c>; fails the test if training fails.</summary>
    public static string TrainedTiny(string root, string name, int steps, params string[] extra)
    {
        string dir = Path.Combine(root, name);
        var (code, error) = Run(["train", "sft", "--task", "arith", "--out", dir, "--steps", steps.ToString(System.Globalization.CultureInfo.InvariantCulture), .. Tiny, .. extra]);
        Assert.True(code == 0, error);
        return dir;
    }
}
