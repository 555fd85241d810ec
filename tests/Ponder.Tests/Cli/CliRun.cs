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
}
