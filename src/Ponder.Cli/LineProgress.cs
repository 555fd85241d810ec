namespace Ponder.Cli;

/// <summary>
/// Prints progress lines synchronously, in order (unlike <see cref="Progress{T}"/>, which posts to the thread pool), to
/// standard output or, where a command's standard output is its result (JSON), to <paramref name="writer"/>.
/// </summary>
public sealed class LineProgress(string prefix = "", TextWriter? writer = null) : IProgress<string>
{
    public void Report(string value) => (writer ?? Console.Out).WriteLine(prefix + value);
}
