using System.Globalization;

namespace Ponder.Tasks;

/// <summary>
/// A parsed task spec <c>name</c> or <c>name:key=value,key=value</c>. Reads typed options and turns every
/// mistake into an <see cref="ArgumentException"/> with a one-line message naming the task and option.
/// </summary>
internal sealed class TaskSpec
{
    private readonly Dictionary<string, string> _options;

    private TaskSpec(string name, Dictionary<string, string> options)
    {
        Name = name;
        _options = options;
    }

    public string Name { get; }

    public static TaskSpec Parse(string spec)
    {
        int colon = spec.IndexOf(':');
        string name = (colon < 0 ? spec : spec[..colon]).Trim();
        if (name.Length == 0)
        {
            throw new ArgumentException($"task spec '{spec}' has no task name (expected name or name:key=value,...)");
        }
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        if (colon >= 0)
        {
            foreach (string entry in spec[(colon + 1)..].Split(','))
            {
                int eq = entry.IndexOf('=');
                string key = (eq < 0 ? entry : entry[..eq]).Trim();
                if (eq < 0 || key.Length == 0)
                {
                    throw new ArgumentException($"task '{name}': option '{entry.Trim()}' is not key=value");
                }
                string value = entry[(eq + 1)..].Trim();
                if (value.Length == 0)
                {
                    throw new ArgumentException($"task '{name}': option '{key}' has an empty value");
                }
                if (!options.TryAdd(key, value))
                {
                    throw new ArgumentException($"task '{name}': option '{key}' is given twice");
                }
            }
        }
        return new TaskSpec(name, options);
    }

    /// <summary>Throws for the first option not in <paramref name="known"/>, listing the known ones.</summary>
    public void RejectUnknown(params string[] known)
    {
        foreach (string key in _options.Keys)
        {
            if (!known.Contains(key))
            {
                throw new ArgumentException($"task '{Name}': unknown option '{key}' (known: {string.Join(", ", known)})");
            }
        }
    }

    public int Int(string key, int fallback)
    {
        if (!_options.TryGetValue(key, out string? text))
        {
            return fallback;
        }
        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int value))
        {
            throw new ArgumentException($"task '{Name}': option '{key}' must be an integer, got '{text}'");
        }
        return value;
    }

    public string? String(string key) => _options.GetValueOrDefault(key);

    /// <summary>Validation shared by the tasks' constructors, worded like the spec errors.</summary>
    public static void RequireInRange(string task, string key, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            throw new ArgumentException($"task '{task}': option '{key}' must be in {min}..{max}, got {value}");
        }
    }
}
