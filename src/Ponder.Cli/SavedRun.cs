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

    /// <summary>
    /// The command line a resumed run continues with, when its checkpoint holds the one it was started with
    /// (<see cref="Ponder.Learning.Resumption.CommandKey"/>): those options, with the ones given now on top. An option given now that changes what
    /// <paramref name="parse"/> reads from the saved ones is refused unless it is one of <paramref name="mayChange"/>
    /// (where the run is, how long it runs, when it saves); so every setting, the task included, is the one the run
    /// started with. <paramref name="args"/> as they are when the checkpoint holds no command (or none is resumed).
    /// </summary>
    public static string[] ResumedArgs<T>(string verb, string[] args, string kind, IReadOnlySet<string> mayChange, Func<Options, T> parse)
    {
        var given = new Options(verb, args);
        if (!given.Given.ContainsKey("resume") || given.Given.GetValueOrDefault("out") is not { } dir) return args;
        if (Ponder.Learning.Resumption.Require(dir, kind, needsOptimizerState: false).Extra?.GetValueOrDefault(Ponder.Learning.Resumption.CommandKey) is not { } json) return args;
        var saved = new Options(verb, SavedCommand(dir, json)).Given;
        var baseline = parse(new Options(verb, Options.Args(saved)));
        var merged = new Dictionary<string, string?>(saved);
        foreach (var (name, value) in given.Given)
        {
            if (name != "resume" && !mayChange.Contains(name))
            {
                var trial = new Dictionary<string, string?>(saved) { [name] = value };
                if (!EqualityComparer<T>.Default.Equals(parse(new Options(verb, Options.Args(trial))), baseline))
                    throw new UsageException(saved.TryGetValue(name, out var before)
                        ? $"{verb}: --{name}{(value is null ? "" : " " + value)} differs from the resumed run's {before ?? "flag"}; a resumed run continues as it started"
                        : $"{verb}: --{name}{(value is null ? "" : " " + value)} was not given when the resumed run started; a resumed run continues as it started");
            }
            merged[name] = value;
        }
        return Options.Args(merged);
    }

    // The saved command line: a JSON array of strings, or an error naming the checkpoint.
    static string[] SavedCommand(string dir, string json)
    {
        try
        {
            return System.Text.Json.JsonSerializer.Deserialize<string?[]>(json) is { } args && args.All(a => a is not null) ? args.Select(a => a!).ToArray() : throw new System.Text.Json.JsonException();
        }
        catch (System.Text.Json.JsonException)
        {
            throw new InvalidDataException($"checkpoint '{dir}': the saved command in {Ponder.Policy.Checkpoint.StateFile} is not a JSON array of strings");
        }
    }

    /// <summary>
    /// The options of <paramref name="o"/> to save as a run's <see cref="Ponder.Learning.Resumption.CommandKey"/>: all but those of one session
    /// (<c>--resume</c>, <c>--device</c>, <c>--max-minutes</c>), which a resumed run takes as given then.
    /// </summary>
    public static IReadOnlyList<string> Command(Options o) => Options.Args(o.Given.Where(p => p.Key is not ("resume" or "device" or "max-minutes")));

    private UsageException Differs(string option, string given, string saved) =>
        new($"{verb}: --{option} {given} differs from the resumed run's {saved}; a resumed run continues as it started");

    private static string Text<T>(T value) => value is double d ? d.ToString("R", CultureInfo.InvariantCulture) : Convert.ToString(value, CultureInfo.InvariantCulture)!;
}
