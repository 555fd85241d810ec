namespace Ponder.Cli;

/// <summary>Prints progress lines synchronously, in order (unlike <see cref="Progress{T}"/>, which posts to the thread pool).</summary>
public sealed class LineProgress(string prefix = "") : IProgress<string>
{
    public void Report(string value) => Console.WriteLine(prefix + value);
}
