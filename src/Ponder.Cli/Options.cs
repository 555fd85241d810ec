using System.Globalization;

namespace Ponder.Cli;

/// <summary>
/// <c>--name value</c> and <c>--flag</c> options of one command. Every option a command reads is
/// declared by reading it; <see cref="Done"/> then rejects anything left over, so a misspelt option
/// fails before work starts instead of being ignored.
/// </summary>
public sealed class Options
{
    readonly string command;
    readonly Dictionary<string, string?> values = new();
    readonly HashSet<string> known = [];
    readonly List<string> positional = [];

    public Options(string command, IEnumerable<string> args)
    {
        this.command = command;
        var list = args.ToList();
        for (int i = 0; i < list.Count; i++)
        {
            string a = list[i];
            if (!a.StartsWith("--", StringComparison.Ordinal)) { positional.Add(a); continue; }
            string name = a[2..];
            string? value = null;
            int eq = name.IndexOf('=');
            if (eq >= 0) { value = name[(eq + 1)..]; name = name[..eq]; }
            else if (i + 1 < list.Count && !list[i + 1].StartsWith("--", StringComparison.Ordinal)) value = list[++i];
            if (values.ContainsKey(name)) throw new UsageException($"{command}: option '--{name}' given twice");
            values[name] = value;
        }
    }

    public IReadOnlyList<string> Positional => positional;

    /// <summary>The options as given, by name (null for a flag), whether read or not.</summary>
    public IReadOnlyDictionary<string, string?> Given => values;

    /// <summary>A command line that gives <paramref name="options"/> (<c>--name=value</c>, or <c>--name</c> for a flag).</summary>
    public static string[] Args(IEnumerable<KeyValuePair<string, string?>> options) =>
        [.. options.Select(p => p.Value is null ? "--" + p.Key : $"--{p.Key}={p.Value}")];

    public string? String(string name, string? fallback = null)
    {
        known.Add(name);
        if (!values.TryGetValue(name, out var v)) return fallback;
        return v is { Length: > 0 } ? v : throw new UsageException($"{command}: option '--{name}' needs a value");
    }

    /// <summary><c>--kv-cache f32|bf16</c>: the element type the KV cache stores (null when not given: <see cref="Ponder.Policy.Transformer.DefaultKvCacheType"/>).</summary>
    public TorchSharp.torch.ScalarType? KvCache() => String("kv-cache") switch
    {
        null => null,
        "f32" => TorchSharp.torch.ScalarType.Float32,
        "bf16" => TorchSharp.torch.ScalarType.BFloat16,
        var v => throw new UsageException($"{command}: option '--kv-cache' must be one of f32, bf16, got '{v}'"),
    };

    public string Required(string name) =>
        String(name) ?? throw new UsageException($"{command}: missing required option '--{name}'");

    public int Int(string name, int fallback, int min = int.MinValue, int max = int.MaxValue)
    {
        string? s = String(name);
        if (s is null) return fallback;
        if (!System.Numerics.BigInteger.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v))
            throw new UsageException($"{command}: option '--{name}' expects an integer, got '{s}'");
        if (v < min || v > max) throw new UsageException($"{command}: option '--{name}' must be in {min}..{max}, got {v}");
        return (int)v;
    }

    public double Double(string name, double fallback, double min = double.NegativeInfinity, double max = double.PositiveInfinity)
    {
        string? s = String(name);
        if (s is null) return fallback;
        if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v))
            throw new UsageException($"{command}: option '--{name}' expects a finite number, got '{s}'");
        if (v < min || v > max) throw new UsageException($"{command}: option '--{name}' must be in [{min}, {max}], got {v}");
        return v;
    }

    /// <summary>An integer option that may be absent (null), checked as <see cref="Int"/> checks when given.</summary>
    public int? OptionalInt(string name, int min = int.MinValue, int max = int.MaxValue) =>
        String(name) is null ? null : Int(name, 0, min, max);

    /// <summary>A number option that may be absent (null), checked as <see cref="Double"/> checks when given.</summary>
    public double? OptionalDouble(string name, double min = double.NegativeInfinity, double max = double.PositiveInfinity) =>
        String(name) is null ? null : Double(name, 0, min, max);

    /// <summary>The first of <paramref name="names"/> given on the command line, or null (for options that exclude others).</summary>
    public string? FirstGiven(IEnumerable<string> names) => names.FirstOrDefault(n => String(n) is not null);

    public bool Flag(string name)
    {
        known.Add(name);
        if (!values.TryGetValue(name, out var v)) return false;
        if (v is not null) throw new UsageException($"{command}: option '--{name}' takes no value (got '{v}')");
        return true;
    }

    /// <summary>Rejects undeclared options and, unless allowed, positional arguments.</summary>
    public void Done(int maxPositional = 0)
    {
        foreach (var name in values.Keys)
            if (!known.Contains(name))
                throw new UsageException($"{command}: unknown option '--{name}' (known: {string.Join(", ", known.Order().Select(k => "--" + k))})");
        if (positional.Count > maxPositional)
            throw new UsageException($"{command}: unexpected argument '{positional[maxPositional]}'");
    }
}
