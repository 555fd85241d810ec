using System.Globalization;
using Ponder.Policy;

namespace Ponder.Cli;

/// <summary>
/// The settings a resumed run was started with (its <c>ponder.json</c>), for a command that continues it as it
/// started: a setting not given takes the saved value, and one given with another value is refused.
/// </summary>
internal sealed class SavedRun(Options options, string verb, CheckpointState state)
{
    public CheckpointState State => state;

    /// <summary>An integer the run saved under <paramref name="key"/> in its extra entries, if any.</summary>
    public int? Int(string key) =>
        state.Extra?.GetValueOrDefault(key) is { } v && int.TryParse(v, CultureInfo.InvariantCulture, out int n) ? n : null;

    /// <summary>A number the run saved under <paramref name="key"/> in its extra entries, if any.</summary>
    public double? Double(string key) =>
        state.Extra?.GetValueOrDefault(key) is { } v && double.TryParse(v, CultureInfo.InvariantCulture, out double x) ? x : null;

    /// <summary>The saved value when the option was not given; the given one when it agrees or nothing was saved.</summary>
    public T Keep<T>(string option, T given, T? saved) where T : struct, IEquatable<T>
    {
        if (saved is not { } value || value.Equals(given)) return given;
        if (options.String(option) is not null)
            throw Differs(option, Text(given), Text(value));
        return value;
    }

    /// <summary>
    /// A setting the run saved as text (a task, a file's full path): the saved one when the option was not given; the
    /// given one when <paramref name="normal"/> of it is the saved text or nothing was saved.
    /// </summary>
    public string? KeepText(string option, string? given, string? saved, Func<string, string> normal)
    {
        if (string.IsNullOrEmpty(saved) || given is not null && normal(given) == saved) return given;
        return given is null ? saved : throw Differs(option, given, saved);
    }

    /// <summary>An enum setting saved by name under <paramref name="key"/>, kept as <see cref="Keep{T}"/> keeps a number.</summary>
    public T KeepEnum<T>(string option, T given, string key) where T : struct, System.Enum
    {
        if (state.Extra?.GetValueOrDefault(key) is not { } name || !System.Enum.TryParse<T>(name, ignoreCase: true, out var saved) || saved.Equals(given))
            return given;
        return options.String(option) is { } typed ? throw Differs(option, typed, name) : saved;
    }

    private UsageException Differs(string option, string given, string saved) =>
        new($"{verb}: --{option} {given} differs from the resumed run's {saved}; a resumed run continues as it started");

    private static string Text<T>(T value) => value is double d ? d.ToString("R", CultureInfo.InvariantCulture) : Convert.ToString(value, CultureInfo.InvariantCulture)!;
}
