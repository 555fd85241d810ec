namespace Ponder.Cli;

/// <summary>A wrong command line: printed as one line, exit code 2, before any work starts.</summary>
public sealed class UsageException(string message) : Exception(message);
